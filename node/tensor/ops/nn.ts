// Neural-network ops: (log-)softmax, softmax cross-entropy, batch and layer normalisation.
// Normalisation in training mode is composed of primitives, so its gradient (through the
// batch statistics) is derived by autodiff rather than written a second time by hand.
import { defineOp, type Tensor } from '../graph.js';
import { normAxis } from '../shape.js';
import { add, div, exp, mul, sqrt, sub } from './elementwise.js';
import { reduceMean, reduceSum } from './reduce.js';
import { reshape } from './shape-ops.js';
import { graphOf } from './operand.js';

export const LogSoftmax = defineOp<{ axis: number }>({
  type: 'LogSoftmax',
  infer: ([x]) => [{ shape: x.shape, dtype: x.dtype }],
  lower: (ctx, ins, outs, n) => ctx.emit('LogSoftmax', ins, outs, { axis: { i: n.attrs.axis } }),
  grad: (n, [g]) => {
    const y = n.outputs[0];
    return [sub(g!, mul(exp(y), reduceSum(g!, [n.attrs.axis], true)))];
  },
});

export const Softmax = defineOp<{ axis: number }>({
  type: 'Softmax',
  infer: ([x]) => [{ shape: x.shape, dtype: x.dtype }],
  lower: (ctx, ins, outs, n) => ctx.emit('Softmax', ins, outs, { axis: { i: n.attrs.axis } }),
  grad: (n, [g]) => {
    const y = n.outputs[0];
    return [mul(y, sub(g!, reduceSum(mul(g!, y), [n.attrs.axis], true)))];
  },
});

export const logSoftmax = (x: Tensor, axis = -1): Tensor => x.graph.apply(LogSoftmax, [x], { axis: normAxis(axis, x.rank) })[0];
export const softmax = (x: Tensor, axis = -1): Tensor => x.graph.apply(Softmax, [x], { axis: normAxis(axis, x.rank) })[0];

/**
 * Mean softmax cross-entropy of logits [B, C] against integer labels [B]. The second output,
 * the log-probabilities, is what the gradient reuses: d/dlogits = (softmax − onehot)/B.
 */
export const SoftmaxCrossEntropy = defineOp<object>({
  type: 'SoftmaxCrossEntropy',
  infer: ([logits, labels]) => {
    if (logits.rank !== 2) throw new Error(`softmaxCrossEntropy: logits must be [batch, classes], got ${logits}`);
    if (labels.dtype !== 'int64' || labels.rank !== 1 || labels.shape[0] !== logits.shape[0]) {
      throw new Error(`softmaxCrossEntropy: labels must be int64 [${logits.shape[0]}], got ${labels}`);
    }
    return [
      { shape: [], dtype: logits.dtype },
      { shape: logits.shape, dtype: logits.dtype },
    ];
  },
  lower: (ctx, ins, outs) => ctx.emit('SoftmaxCrossEntropyLoss', ins, outs, { reduction: { s: 'mean' } }),
  grad: (n, [g]) => {
    const [logits, labels] = n.inputs;
    return [logits.graph.apply(SoftmaxCrossEntropyGrad, [g!, n.outputs[1], labels], {})[0], undefined];
  },
});

const SoftmaxCrossEntropyGrad = defineOp<object>({
  type: 'SoftmaxCrossEntropyGrad',
  infer: ([, logp]) => [{ shape: logp.shape, dtype: logp.dtype }],
  lower: (ctx, [g, logp, labels], [out], n) => {
    const [b, c] = n.inputs[1].shape;
    const probs = ctx.temp('probs');
    ctx.emit('Exp', [logp], [probs]);
    const onehot = ctx.temp('onehot');
    ctx.emit('OneHot', [labels, ctx.scalar(c, 'int64'), ctx.constant(Float32Array.of(0, 1), [2], 'float32', 'onehot_values')], [onehot], {
      axis: { i: -1 },
    });
    const diff = ctx.temp('diff');
    ctx.emit('Sub', [probs, onehot], [diff]);
    const scale = ctx.temp('scale');
    ctx.emit('Div', [g, ctx.scalar(b, 'float32')], [scale]);
    ctx.emit('Mul', [diff, scale], [out]);
  },
});

export function softmaxCrossEntropy(logits: Tensor, labels: Tensor): Tensor {
  return graphOf(logits, labels).apply(SoftmaxCrossEntropy, [logits, labels], {})[0];
}

/** Shape [1, C, 1, …] that broadcasts a per-channel vector against x along axis 1. */
function channelShape(x: Tensor): number[] {
  return x.shape.map((d, i) => (i === 1 ? d : 1));
}

/** Batch normalisation with fixed statistics (inference); lowered to ONNX BatchNormalization. */
export const BatchNormEval = defineOp<{ eps: number }>({
  type: 'BatchNormEval',
  infer: ([x, scale]) => {
    if (x.rank < 2 || scale.shape[0] !== x.shape[1]) throw new Error(`batchNorm: ${scale} does not match channels of ${x}`);
    return [{ shape: x.shape, dtype: x.dtype }];
  },
  lower: (ctx, ins, outs, n) => ctx.emit('BatchNormalization', ins, outs, { epsilon: { f: n.attrs.eps } }),
  grad: (n, [g]) => {
    const [x, scale, , mean, variance] = n.inputs;
    const cs = channelShape(x);
    const axes = x.shape.map((_, i) => i).filter((i) => i !== 1);
    const inv = reshape(div(1, sqrt(add(variance, n.attrs.eps))), cs);
    const xhat = mul(sub(x, reshape(mean, cs)), inv);
    return [mul(g!, mul(inv, reshape(scale, cs))), reduceSum(mul(g!, xhat), axes), reduceSum(g!, axes), undefined, undefined];
  },
});

export interface BatchNormParams {
  readonly scale: Tensor;
  readonly bias: Tensor;
  readonly runningMean: Tensor;
  readonly runningVar: Tensor;
}

/** Inference-mode batch norm over axis 1 of an [N, C, …] tensor. */
export function batchNormEval(x: Tensor, p: BatchNormParams, eps = 1e-5): Tensor {
  return graphOf(x, p.scale).apply(BatchNormEval, [x, p.scale, p.bias, p.runningMean, p.runningVar], { eps })[0];
}

/**
 * Training-mode batch norm as one op, because its composite form costs ~12 full passes over
 * the activations in the backward pass. Outputs: y, the batch mean [C], the biased batch
 * variance [C] and the centred input (kept for the backward pass). ONNX's inference-mode
 * BatchNormalization kernel serves as a fused per-channel multiply-add here and in the
 * gradient: y = BN(x; γ, β, μ_batch, σ²_batch).
 */
export const BatchNormTrain = defineOp<{ eps: number }>({
  type: 'BatchNormTrain',
  infer: ([x, scale]) => {
    if (x.rank < 2 || scale.shape[0] !== x.shape[1]) throw new Error(`batchNorm: ${scale} does not match channels of ${x}`);
    const c = [x.shape[1]];
    return [
      { shape: x.shape, dtype: x.dtype },
      { shape: c, dtype: x.dtype },
      { shape: c, dtype: x.dtype },
      { shape: x.shape, dtype: x.dtype },
    ];
  },
  lower: (ctx, [x, scale, bias], [y, mean, variance, centred], n) => {
    const t = n.inputs[0];
    const axes = ctx.i64(t.shape.map((_, i) => i).filter((i) => i !== 1));
    const count = t.shape.reduce((a, d, i) => (i === 1 ? a : a * d), 1);
    const meanK = ctx.temp('mean_k');
    ctx.emit('ReduceMean', [x, axes], [meanK], { keepdims: { i: 1 } });
    const xc = centred || ctx.temp('centred');
    ctx.emit('Sub', [x, meanK], [xc]);
    const ss = ctx.temp('sumsq');
    ctx.emit('ReduceSumSquare', [xc, axes], [ss], { keepdims: { i: 0 } });
    const v = variance || ctx.temp('var');
    ctx.emit('Div', [ss, ctx.scalar(count, 'float32')], [v]);
    const m = mean || ctx.temp('mean');
    ctx.emit('Reshape', [meanK, ctx.i64([t.shape[1]])], [m]);
    ctx.emit('BatchNormalization', [x, scale, bias, m, v], [y], { epsilon: { f: n.attrs.eps } });
  },
  grad: (n, [dy, dMean, dVar]) => {
    if (dMean || dVar) throw new Error('batchNorm: gradients through the batch statistics outputs are not supported');
    const [x, scale] = n.inputs;
    const [, , variance, centred] = n.outputs;
    const [dx, dScale, dBias] = x.graph.apply(BatchNormTrainGrad, [dy!, centred, scale, variance], { eps: n.attrs.eps });
    return [dx, dScale, dBias];
  },
});

/**
 * With x̂ = (x−μ)·r, r = 1/√(σ²+ε), k = γ·r and n values per channel:
 *   dβ = Σdy,  dγ = r·Σ(dy·(x−μ)),  dx = k·dy − (k·r²·Σ(dy·(x−μ))/n)·(x−μ) − k·Σdy/n.
 */
const BatchNormTrainGrad = defineOp<{ eps: number }>({
  type: 'BatchNormTrainGrad',
  infer: ([dy, , scale]) => [
    { shape: dy.shape, dtype: dy.dtype },
    { shape: scale.shape, dtype: dy.dtype },
    { shape: scale.shape, dtype: dy.dtype },
  ],
  lower: (ctx, [dy, xc, scale, variance], [dx, dScale, dBias], n) => {
    const t = n.inputs[0];
    const c = t.shape[1];
    const axes = ctx.i64(t.shape.map((_, i) => i).filter((i) => i !== 1));
    const count = t.shape.reduce((a, d, i) => (i === 1 ? a : a * d), 1);
    const op = (type: string, ins: string[], hint: string, attrs?: Parameters<typeof ctx.emit>[3]) => {
      const o = ctx.temp(hint);
      ctx.emit(type, ins, [o], attrs);
      return o;
    };
    const r = op('Reciprocal', [op('Sqrt', [op('Add', [variance, ctx.scalar(n.attrs.eps, 'float32')], 'var_eps')], 'std')], 'inv_std');
    const s1 = dBias || ctx.temp('sum_dy');
    ctx.emit('ReduceSum', [dy, axes], [s1], { keepdims: { i: 0 } });
    const s2 = op('ReduceSum', [op('Mul', [dy, xc], 'dy_xc'), axes], 'sum_dy_xc', { keepdims: { i: 0 } });
    if (dScale) ctx.emit('Mul', [s2, r], [dScale]);
    if (!dx) return;
    const k = op('Mul', [scale, r], 'k');
    const invN = ctx.scalar(1 / count, 'float32');
    const a = op('Mul', [op('Mul', [op('Mul', [k, r], 'kr'), r], 'krr'), op('Mul', [s2, invN], 's2n')], 'a');
    const b = op('Mul', [k, op('Mul', [s1, invN], 's1n')], 'b');
    const zeros = ctx.constant(new Float32Array(c), [c], 'float32', 'bn_zeros');
    const ones = ctx.constant(new Float32Array(c).fill(1), [c], 'float32', 'bn_ones');
    const affine = (x: string, scl: string, bias: string, hint: string) =>
      op('BatchNormalization', [x, scl, bias, zeros, ones], hint, { epsilon: { f: 0 } });
    // dx = k·dy − (a·(x−μ) + b), each affine term one fused per-channel pass.
    ctx.emit('Sub', [affine(dy, k, zeros, 'k_dy'), affine(xc, a, b, 'correction')], [dx]);
  },
});

export interface BatchNormTrainResult {
  readonly y: Tensor;
  readonly runningMean: Tensor;
  readonly runningVar: Tensor;
}

/**
 * Training-mode batch norm: normalises with the batch statistics and returns the updated
 * running statistics (PyTorch's convention: momentum weights the new value, and the running
 * variance uses the unbiased batch variance).
 */
export function batchNormTrain(x: Tensor, p: BatchNormParams, momentum = 0.1, eps = 1e-5): BatchNormTrainResult {
  const [y, mu, variance] = graphOf(x, p.scale).apply(BatchNormTrain, [x, p.scale, p.bias], { eps });
  const count = x.shape.reduce((a, d, i) => (i === 1 ? a : a * d), 1);
  const runningMean = add(mul(p.runningMean, 1 - momentum), mul(mu, momentum));
  const runningVar = add(mul(p.runningVar, 1 - momentum), mul(variance, (momentum * count) / Math.max(count - 1, 1)));
  return { y, runningMean, runningVar };
}

/**
 * Layer normalisation over `axes` with an affine transform whose parameters have the shape
 * of those axes. For NCHW feature maps, axes = [1] normalises each position over channels,
 * which keeps the layer equivariant to channel permutations.
 */
export function layerNorm(x: Tensor, scale: Tensor, bias: Tensor, axes: ReadonlyArray<number>, eps = 1e-5): Tensor {
  const ax = axes.map((a) => normAxis(a, x.rank));
  const ps = x.shape.map((d, i) => (ax.includes(i) ? d : 1));
  const mu = reduceMean(x, ax, true);
  const xc = sub(x, mu);
  const variance = reduceMean(mul(xc, xc), ax, true);
  const xhat = mul(xc, div(1, sqrt(add(variance, eps))));
  return add(mul(xhat, reshape(scale, ps)), reshape(bias, ps));
}
