// 2-D convolution. ONNX has no ConvGrad, so the backward pass is built from forward ops:
// dX is a ConvTranspose, dW multiplies image patches (extracted by a depthwise one-hot
// convolution) with the output gradient. Of the formulations benchmarked on this CPU
// (transposed-operand Conv, patches + one GEMM, patches + batched MatMul; patches by
// depthwise conv or by Pad + 9 Slices + Concat) this one was fastest at 1 and 2 threads
// on ResNet-20 shapes.
import { defineOp, type Tensor } from '../graph.js';
import { DYN } from '../shape.js';
import { blockFilter, emitNchwcConv, nchwcFits } from './nchwc.js';
import { graphOf } from './operand.js';
import { reduceSum } from './reduce.js';

/** Largest h·w of the output gradient for which dW uses the NCHWc form (measured crossover). */
const NCHWC_DW_MAX_HW = 256;

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
  lower: (ctx, ins, outs, n) => {
    const [, w] = n.inputs;
    const [o, i, kh, kw] = w.shape;
    if (n.attrs.group === 1 && nchwcFits(ctx, o, i)) {
      const attrs = { ...convAttrs(n.attrs), kernel_shape: { ints: [kh, kw] } };
      return emitNchwcConv(ctx, ins[0], blockFilter(ctx, ins[1], [o, i, kh, kw]), ins[2], outs[0], o, attrs);
    }
    ctx.emit('Conv', ins, outs, convAttrs(n.attrs));
  },
  grad: (n, [g]) => {
    const [x, w, b] = n.inputs;
    const dx = x.graph.apply(ConvInputGrad, [g!, w], { ...n.attrs, inputShape: x.shape as number[] })[0];
    const dw = x.graph.apply(ConvWeightGrad, [x, g!], { ...n.attrs, weightShape: w.shape as number[] })[0];
    return b ? [dx, dw, reduceSum(g!, [0, 2, 3])] : [dx, dw];
  },
});

/**
 * dX = ConvTranspose(dY, W), with output_padding restoring the rows a strided conv dropped.
 * With unit stride and dilation it is also a plain convolution of dY with the filter flipped
 * and its channel axes swapped, padded by k−1−p, which the NCHWc kernels run much faster.
 */
const ConvInputGrad = defineOp<Conv2dAttrs & { inputShape: number[] }>({
  type: 'ConvInputGrad',
  infer: ([g], a) => [{ shape: a.inputShape, dtype: g.dtype }],
  lower: (ctx, ins, outs, n) => {
    const a = n.attrs;
    const [g, w] = n.inputs;
    const [o, c, kh, kw] = w.shape;
    const unit = a.strides.every((s) => s === 1) && a.dilations.every((d) => d === 1) && a.group === 1;
    const pads = [kh - 1 - a.pads[0], kw - 1 - a.pads[1], kh - 1 - a.pads[2], kw - 1 - a.pads[3]];
    if (unit && pads.every((p) => p >= 0) && nchwcFits(ctx, o, c)) {
      const flipped = ctx.temp('w_flipped');
      ctx.emit('Slice', [ins[1], ctx.i64([kh - 1, kw - 1]), ctx.i64([-kh - 1, -kw - 1]), ctx.i64([2, 3]), ctx.i64([-1, -1])], [flipped]);
      const swapped = ctx.temp('w_swapped');
      ctx.emit('Transpose', [flipped], [swapped], { perm: { ints: [1, 0, 2, 3] } });
      const attrs = { pads: { ints: pads }, strides: { ints: [1, 1] }, dilations: { ints: [1, 1] }, group: { i: 1 }, kernel_shape: { ints: [kh, kw] } };
      return emitNchwcConv(ctx, ins[0], blockFilter(ctx, swapped, [c, o, kh, kw]), undefined, outs[0], c, attrs);
    }
    const outputPadding = [0, 1].map((i) => {
      const k = (w.shape[2 + i] - 1) * a.dilations[i] + 1;
      return a.inputShape[2 + i] - (a.strides[i] * (g.shape[2 + i] - 1) + k - a.pads[i] - a.pads[i + 2]);
    });
    ctx.emit('ConvTranspose', ins, outs, { ...convAttrs(a), output_padding: { ints: outputPadding } });
  },
});

/**
 * dW[o,c,i,j] = Σ_n Σ_p patch[n,(c,i,j),p] · dY[n,o,p]. The patches are the left operand so
 * MLAS sees M = C·k² rows against a thin B packed from dY (k² = 9 times smaller than the
 * patches); the other order was 10–25 % slower on every ResNet-20 stage.
 */
const ConvWeightGrad = defineOp<Conv2dAttrs & { weightShape: number[] }>({
  type: 'ConvWeightGrad',
  infer: ([x], a) => {
    if (a.group !== 1) throw new Error('conv2d: the weight gradient of grouped convolutions is not implemented');
    return [{ shape: a.weightShape, dtype: x.dtype }];
  },
  lower: (ctx, [x, g], [out], n) => {
    const a = n.attrs;
    const [xt, gt] = n.inputs;
    const [co, c, kh, kw] = a.weightShape;
    const k2 = kh * kw;
    const hw = gt.shape[2] * gt.shape[3];
    const n0 = xt.shape[0];
    const unit = a.strides.every((s) => s === 1) && a.dilations.every((d) => d === 1);
    // On small feature maps, dW is fastest as an NCHWc convolution with batch and channels
    // swapped: X as [C, N, H, W] convolved with dY as an [Co, N, h, w] filter gives
    // [C, Co, kh, kw]. On large maps (ResNet-20's first stage) the patch form below wins.
    if (unit && hw <= NCHWC_DW_MAX_HW && nchwcFits(ctx, n0, co)) {
      const xT = ctx.temp('x_cn');
      ctx.emit('Transpose', [x], [xT], { perm: { ints: [1, 0, 2, 3] } });
      const b = ctx.target.nchwcBlock!;
      const [h, w] = [gt.shape[2], gt.shape[3]];
      // dY [N, Co, h, w] read as an OIHW filter [Co, N, h, w], reordered straight into OIHWBiBo.
      const g6 = ctx.temp('dy6');
      ctx.emit('Reshape', [g, ctx.i64([n0 / b, b, co / b, b, h, w])], [g6]);
      const gt6 = ctx.temp('dy_blocked6');
      ctx.emit('Transpose', [g6], [gt6], { perm: { ints: [2, 0, 4, 5, 1, 3] } });
      const filter = ctx.temp('dy_filter');
      ctx.emit('Reshape', [gt6, ctx.i64([co, n0, h, w])], [filter]);
      const attrs = { pads: { ints: a.pads }, strides: { ints: [1, 1] }, dilations: { ints: [1, 1] }, group: { i: 1 }, kernel_shape: { ints: [h, w] } };
      const dwT = ctx.temp('dw_cn');
      emitNchwcConv(ctx, xT, filter, undefined, dwT, co, attrs);
      ctx.emit('Transpose', [dwT], [out], { perm: { ints: [1, 0, 2, 3] } });
      return;
    }
    const identity = k2 === 1 && a.strides.every((s) => s === 1) && a.pads.every((p) => p === 0);
    let patches = x;
    if (!identity) {
      const onehot = new Float32Array(c * k2 * k2);
      for (let ch = 0; ch < c; ch++) for (let j = 0; j < k2; j++) onehot[(ch * k2 + j) * k2 + j] = 1;
      const kernel = ctx.constant(onehot, [c * k2, 1, kh, kw], 'float32', 'patch_kernel');
      patches = ctx.temp('patches');
      ctx.emit('Conv', [x, kernel], [patches], convAttrs({ ...a, group: c }));
    }
    const p2 = ctx.temp('patches2d');
    ctx.emit('Reshape', [patches, ctx.i64([n0, c * k2, hw])], [p2]);
    const g2 = ctx.temp('dy2d');
    ctx.emit('Reshape', [g, ctx.i64([n0, co, hw])], [g2]);
    const gT = ctx.temp('dyT');
    ctx.emit('Transpose', [g2], [gT], { perm: { ints: [0, 2, 1] } });
    const prod = ctx.temp('dwT_per_image');
    ctx.emit('MatMul', [p2, gT], [prod]);
    const sum = ctx.temp('dwT');
    ctx.emit('ReduceSum', [prod, ctx.i64([0])], [sum], { keepdims: { i: 0 } });
    const dw = ctx.temp('dw2d');
    ctx.emit('Transpose', [sum], [dw], { perm: { ints: [1, 0] } });
    ctx.emit('Reshape', [dw, ctx.i64([co, c, kh, kw])], [out]);
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
