// Pooling. MaxPool's backward scatters the gradient to the argmax positions ONNX MaxPool
// reports (flat indices over N·C·H·W); average pooling's backward is a ConvTranspose with a
// constant kernel, which handles any stride and padding.
import { defineOp, type Tensor } from '../graph.js';
import { DYN } from '../shape.js';
import { div } from './elementwise.js';
import { expand } from './shape-ops.js';

export interface PoolAttrs {
  readonly kernel: readonly [number, number];
  readonly strides: readonly [number, number];
  readonly pads: readonly [number, number, number, number];
}

function pooledShape(x: Tensor, a: PoolAttrs): number[] {
  if (x.rank !== 4) throw new Error(`pool2d: expects NCHW input, got ${x}`);
  const out = [0, 1].map((i) => {
    const inp = x.shape[2 + i];
    if (inp === DYN) return DYN;
    const o = Math.floor((inp + a.pads[i] + a.pads[i + 2] - a.kernel[i]) / a.strides[i]) + 1;
    if (o < 1) throw new Error(`pool2d: input ${inp} too small for kernel ${a.kernel[i]}`);
    return o;
  });
  return [x.shape[0], x.shape[1], out[0], out[1]];
}

const poolAttrs = (a: PoolAttrs) => ({ kernel_shape: { ints: a.kernel }, strides: { ints: a.strides }, pads: { ints: a.pads } });

export const MaxPool2d = defineOp<PoolAttrs>({
  type: 'MaxPool',
  infer: ([x], a) => {
    const shape = pooledShape(x, a);
    return [
      { shape, dtype: x.dtype },
      { shape, dtype: 'int64' },
    ];
  },
  lower: (ctx, ins, outs, n) => ctx.emit('MaxPool', ins, outs, poolAttrs(n.attrs)),
  grad: (n, [g]) => [n.inputs[0].graph.apply(MaxPoolGrad, [g!, n.outputs[1]], { ...n.attrs, inputShape: n.inputs[0].shape as number[] })[0]],
});

const MaxPoolGrad = defineOp<PoolAttrs & { inputShape: number[] }>({
  type: 'MaxPoolGrad',
  infer: ([g], a) => [{ shape: a.inputShape, dtype: g.dtype }],
  lower: (ctx, [g, idx], [out], n) => {
    // Disjoint windows select each input at most once, so MaxUnpool's plain write equals the
    // scatter-add (and measured ~20 % faster); overlapping windows need the add.
    if (n.attrs.strides.every((s, i) => s >= n.attrs.kernel[i])) {
      ctx.emit('MaxUnpool', [g, idx, ctx.i64(n.attrs.inputShape)], [out], poolAttrs(n.attrs));
      return;
    }
    const total = n.attrs.inputShape.reduce((p, d) => p * d, 1);
    const zeros = ctx.temp('zeros');
    ctx.emit('ConstantOfShape', [ctx.i64([total])], [zeros], { value: { t: { name: '', dtype: 'float32', dims: [1], data: new Float32Array(1) } } });
    const flatIdx = ctx.temp('idx');
    ctx.emit('Reshape', [idx, ctx.i64([-1])], [flatIdx]);
    const flatG = ctx.temp('g');
    ctx.emit('Reshape', [g, ctx.i64([-1])], [flatG]);
    const scattered = ctx.temp('scatter');
    // 'add' so that overlapping windows that pick the same input both contribute.
    ctx.emit('ScatterElements', [zeros, flatIdx, flatG], [scattered], { axis: { i: 0 }, reduction: { s: 'add' } });
    ctx.emit('Reshape', [scattered, ctx.i64(n.attrs.inputShape)], [out]);
  },
});

export const AvgPool2d = defineOp<PoolAttrs & { countIncludePad: boolean }>({
  type: 'AveragePool',
  infer: ([x], a) => [{ shape: pooledShape(x, a), dtype: x.dtype }],
  lower: (ctx, ins, outs, n) => ctx.emit('AveragePool', ins, outs, { ...poolAttrs(n.attrs), count_include_pad: { i: n.attrs.countIncludePad ? 1 : 0 } }),
  grad: (n, [g]) => [n.inputs[0].graph.apply(AvgPoolGrad, [g!], { ...n.attrs, inputShape: n.inputs[0].shape as number[] })[0]],
});

const AvgPoolGrad = defineOp<PoolAttrs & { countIncludePad: boolean; inputShape: number[] }>({
  type: 'AvgPoolGrad',
  infer: ([g], a) => [{ shape: a.inputShape, dtype: g.dtype }],
  lower: (ctx, [g], [out], n) => {
    const a = n.attrs;
    const gt = n.inputs[0];
    const [, c, h, w] = a.inputShape;
    const [oh, ow] = [gt.shape[2], gt.shape[3]];
    // Each output cell spreads g / count over its window; count is the window size, or the
    // number of non-padding cells in it when padding is excluded.
    const counts = new Float32Array(oh * ow);
    for (let i = 0; i < oh; i++) {
      for (let j = 0; j < ow; j++) {
        if (a.countIncludePad) {
          counts[i * ow + j] = 1 / (a.kernel[0] * a.kernel[1]);
          continue;
        }
        const r0 = i * a.strides[0] - a.pads[0];
        const c0 = j * a.strides[1] - a.pads[1];
        const rows = Math.min(r0 + a.kernel[0], h) - Math.max(r0, 0);
        const cols = Math.min(c0 + a.kernel[1], w) - Math.max(c0, 0);
        counts[i * ow + j] = 1 / (rows * cols);
      }
    }
    const scaled = ctx.temp('g_scaled');
    ctx.emit('Mul', [g, ctx.constant(counts, [1, 1, oh, ow], 'float32', 'inv_count')], [scaled]);
    const ones = new Float32Array(c * a.kernel[0] * a.kernel[1]).fill(1);
    const outputPadding = [0, 1].map((i) => a.inputShape[2 + i] - (a.strides[i] * ((i ? ow : oh) - 1) + a.kernel[i] - a.pads[i] - a.pads[i + 2]));
    ctx.emit('ConvTranspose', [scaled, ctx.constant(ones, [c, 1, a.kernel[0], a.kernel[1]], 'float32', 'ones_kernel')], [out], {
      strides: { ints: a.strides },
      pads: { ints: a.pads },
      group: { i: c },
      output_padding: { ints: outputPadding },
    });
  },
});

export interface Pool2dOptions {
  readonly stride?: number | readonly [number, number];
  readonly padding?: number | readonly [number, number];
  readonly countIncludePad?: boolean;
}

function attrsOf(kernel: number | readonly [number, number], opts: Pool2dOptions): PoolAttrs {
  const pair = (v: number | readonly [number, number]): [number, number] => (typeof v === 'number' ? [v, v] : [v[0], v[1]]);
  const k = pair(kernel);
  const p = pair(opts.padding ?? 0);
  return { kernel: k, strides: pair(opts.stride ?? k), pads: [p[0], p[1], p[0], p[1]] };
}

export const maxPool2d = (x: Tensor, kernel: number | readonly [number, number], opts: Pool2dOptions = {}): Tensor =>
  x.graph.apply(MaxPool2d, [x], attrsOf(kernel, opts))[0];

export const avgPool2d = (x: Tensor, kernel: number | readonly [number, number], opts: Pool2dOptions = {}): Tensor =>
  x.graph.apply(AvgPool2d, [x], { ...attrsOf(kernel, opts), countIncludePad: opts.countIncludePad ?? true })[0];

/** Global average pooling to [N, C, 1, 1]; its gradient spreads g/(H·W) uniformly. */
export const GlobalAvgPool = defineOp<object>({
  type: 'GlobalAveragePool',
  infer: ([x]) => [{ shape: [x.shape[0], x.shape[1], 1, 1], dtype: x.dtype }],
  lower: (ctx, ins, outs) => ctx.emit('GlobalAveragePool', ins, outs),
  grad: (n, [g]) => {
    const x = n.inputs[0];
    return [expand(div(g!, x.shape[2] * x.shape[3]), x.shape)];
  },
});

export const globalAvgPool = (x: Tensor): Tensor => {
  if (x.rank !== 4) throw new Error(`globalAvgPool: expects NCHW input, got ${x}`);
  return x.graph.apply(GlobalAvgPool, [x], {})[0];
};
