// 2-D convolution. ONNX has no ConvGrad, so the backward pass is built from forward ops:
// dX is a ConvTranspose, dW multiplies the output gradient with image patches that a
// depthwise one-hot convolution extracts. Of the formulations benchmarked on this CPU
// (transposed-operand Conv, patches + one GEMM, patches + batched MatMul) the last was
// fastest at 1 and 2 threads on ResNet-20 shapes.
import { defineOp, type Tensor } from '../graph.js';
import { DYN } from '../shape.js';
import { graphOf } from './operand.js';
import { reduceSum } from './reduce.js';

export interface Conv2dAttrs {
  readonly strides: readonly [number, number];
  /** [top, left, bottom, right], as ONNX orders them. */
  readonly pads: readonly [number, number, number, number];
  readonly dilations: readonly [number, number];
  readonly group: number;
}

function outSize(inp: number, k: number, s: number, d: number, pb: number, pe: number): number {
  if (inp === DYN) return DYN;
  const o = Math.floor((inp + pb + pe - ((k - 1) * d + 1)) / s) + 1;
  if (o < 1) throw new Error(`conv/pool: input ${inp} too small for kernel ${k} with padding ${pb}+${pe}`);
  return o;
}

function convAttrs(a: Conv2dAttrs) {
  return {
    strides: { ints: a.strides },
    pads: { ints: a.pads },
    dilations: { ints: a.dilations },
    group: { i: a.group },
  };
}

export const Conv2d = defineOp<Conv2dAttrs>({
  type: 'Conv',
  infer: ([x, w, b], a) => {
    if (x.rank !== 4 || w.rank !== 4) throw new Error(`conv2d: expects NCHW input and OIHW weight, got ${x} and ${w}`);
    if (x.shape[1] !== w.shape[1] * a.group) throw new Error(`conv2d: input has ${x.shape[1]} channels, weight expects ${w.shape[1] * a.group}`);
    if (b && (b.rank !== 1 || b.shape[0] !== w.shape[0])) throw new Error(`conv2d: bias must be [${w.shape[0]}]`);
    const [kh, kw] = [w.shape[2], w.shape[3]];
    return [
      {
        shape: [
          x.shape[0],
          w.shape[0],
          outSize(x.shape[2], kh, a.strides[0], a.dilations[0], a.pads[0], a.pads[2]),
          outSize(x.shape[3], kw, a.strides[1], a.dilations[1], a.pads[1], a.pads[3]),
        ],
        dtype: x.dtype,
      },
    ];
  },
  lower: (ctx, ins, outs, n) => ctx.emit('Conv', ins, outs, convAttrs(n.attrs)),
  grad: (n, [g]) => {
    const [x, w, b] = n.inputs;
    const dx = x.graph.apply(ConvInputGrad, [g!, w], { ...n.attrs, inputShape: x.shape as number[] })[0];
    const dw = x.graph.apply(ConvWeightGrad, [x, g!], { ...n.attrs, weightShape: w.shape as number[] })[0];
    return b ? [dx, dw, reduceSum(g!, [0, 2, 3])] : [dx, dw];
  },
});

/** dX = ConvTranspose(dY, W), with output_padding restoring the rows a strided conv dropped. */
const ConvInputGrad = defineOp<Conv2dAttrs & { inputShape: number[] }>({
  type: 'ConvInputGrad',
  infer: ([g], a) => [{ shape: a.inputShape, dtype: g.dtype }],
  lower: (ctx, ins, outs, n) => {
    const a = n.attrs;
    const [g, w] = n.inputs;
    const outputPadding = [0, 1].map((i) => {
      const k = (w.shape[2 + i] - 1) * a.dilations[i] + 1;
      return a.inputShape[2 + i] - (a.strides[i] * (g.shape[2 + i] - 1) + k - a.pads[i] - a.pads[i + 2]);
    });
    ctx.emit('ConvTranspose', ins, outs, { ...convAttrs(a), output_padding: { ints: outputPadding } });
  },
});

/** dW[o,c,i,j] = Σ_n Σ_p dY[n,o,p] · patch[n,(c,i,j),p]. */
const ConvWeightGrad = defineOp<Conv2dAttrs & { weightShape: number[] }>({
  type: 'ConvWeightGrad',
  infer: ([x], a) => {
    if (a.group !== 1) throw new Error('conv2d: the weight gradient of grouped convolutions is not implemented');
    return [{ shape: a.weightShape, dtype: x.dtype }];
  },
  lower: (ctx, [x, g], [out], n) => {
    const [xt, gt] = n.inputs;
    const [co, c, kh, kw] = n.attrs.weightShape;
    const k2 = kh * kw;
    const onehot = new Float32Array(c * k2 * k2);
    for (let ch = 0; ch < c; ch++) for (let j = 0; j < k2; j++) onehot[(ch * k2 + j) * k2 + j] = 1;
    const kernel = ctx.constant(onehot, [c * k2, 1, kh, kw], 'float32', 'patch_kernel');
    const patches = ctx.temp('patches');
    ctx.emit('Conv', [x, kernel], [patches], convAttrs({ ...n.attrs, group: c }));
    const hw = gt.shape[2] * gt.shape[3];
    const n0 = xt.shape[0];
    const p2 = ctx.temp('patches2d');
    ctx.emit('Reshape', [patches, ctx.i64([n0, c * k2, hw])], [p2]);
    const pT = ctx.temp('patchesT');
    ctx.emit('Transpose', [p2], [pT], { perm: { ints: [0, 2, 1] } });
    const g2 = ctx.temp('dy2d');
    ctx.emit('Reshape', [g, ctx.i64([n0, co, hw])], [g2]);
    const prod = ctx.temp('dw_per_image');
    ctx.emit('MatMul', [g2, pT], [prod]);
    const sum = ctx.temp('dw_sum');
    ctx.emit('ReduceSum', [prod, ctx.i64([0])], [sum], { keepdims: { i: 0 } });
    ctx.emit('Reshape', [sum, ctx.i64([co, c, kh, kw])], [out]);
  },
});

export interface Conv2dOptions {
  readonly stride?: number | readonly [number, number];
  /** Symmetric padding per spatial axis, or explicit [top, left, bottom, right]. */
  readonly padding?: number | readonly [number, number] | readonly [number, number, number, number];
  readonly dilation?: number | readonly [number, number];
  readonly group?: number;
}

const pair = (v: number | readonly [number, number]): [number, number] => (typeof v === 'number' ? [v, v] : [v[0], v[1]]);

export function conv2d(x: Tensor, w: Tensor, b?: Tensor, opts: Conv2dOptions = {}): Tensor {
  const p = opts.padding ?? 0;
  const pads: [number, number, number, number] =
    typeof p === 'number' ? [p, p, p, p] : p.length === 2 ? [p[0], p[1], p[0], p[1]] : [p[0], p[1], p[2], p[3]];
  const attrs: Conv2dAttrs = { strides: pair(opts.stride ?? 1), pads, dilations: pair(opts.dilation ?? 1), group: opts.group ?? 1 };
  const inputs = b ? [x, w, b] : [x, w];
  return graphOf(...inputs).apply(Conv2d, inputs, attrs)[0];
}
