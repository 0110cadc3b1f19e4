// Every op's gradient against central finite differences (relative error < 1e-2 in float32).
import { afterAll, describe, expect, it } from 'vitest';
import * as T from '../../node/tensor/ops/index.js';
import { defineOp, type Tensor } from '../../node/tensor/graph.js';
import { createRuntime } from '../../node/tensor/runtime/pool.js';
import { gradCheck, type CheckInput } from '../helpers/gradcheck.js';
import { targetsOf } from '../helpers/targets.js';
import { uniform } from '../helpers/rng.js';

const rt = createRuntime();
afterAll(() => rt.close());

const TOL = 1e-2;
const f = (...shape: number[]): CheckInput => ({ shape });
const positive = (...shape: number[]): CheckInput => ({ shape, data: uniform(shape.reduce((a, b) => a * b, 1), 99, 0.5, 2) });

type Case = [string, (...xs: Tensor[]) => Tensor, CheckInput[]];

const cases: Case[] = [
  ['add (broadcast rows)', (a, b) => T.add(a, b), [f(3, 4), f(4)]],
  ['add (broadcast both)', (a, b) => T.add(a, b), [f(2, 1, 4), f(3, 1)]],
  ['sub (broadcast)', (a, b) => T.sub(a, b), [f(2, 3, 4), f(1, 3, 1)]],
  ['mul (broadcast)', (a, b) => T.mul(a, b), [f(2, 3, 4), f(3, 1)]],
  ['div (broadcast)', (a, b) => T.div(a, b), [f(2, 3, 4), positive(4)]],
  ['max', (a, b) => T.maximum(a, b), [f(3, 5), f(5)]],
  ['neg', (a) => T.neg(a), [f(7)]],
  ['exp', (a) => T.exp(a), [f(3, 4)]],
  ['log', (a) => T.log(a), [positive(3, 4)]],
  ['sqrt', (a) => T.sqrt(a), [positive(3, 4)]],
  ['reciprocal', (a) => T.reciprocal(a), [positive(5)]],
  ['tanh', (a) => T.tanh(a), [f(3, 4)]],
  ['sigmoid', (a) => T.sigmoid(a), [f(3, 4)]],
  ['relu', (a) => T.relu(a), [f(4, 6)]],
  ['where', (a, b) => T.where(T.greater(a, 0), a, b), [f(3, 4), f(4)]],
  ['matmul 2-D', (a, b) => T.matmul(a, b), [f(5, 3), f(3, 4)]],
  ['matmul transA/transB', (a, b) => T.matmul(a, b, { transA: true, transB: true }), [f(3, 5), f(4, 3)]],
  ['matmul batched broadcast', (a, b) => T.matmul(a, b), [f(2, 5, 3), f(3, 4)]],
  ['matmul batched transB', (a, b) => T.matmul(a, b, { transB: true }), [f(2, 5, 3), f(2, 4, 3)]],
  ['gemm (linear with bias)', (x, w, b) => T.linear(x, w, b), [f(6, 4), f(3, 4), f(3)]],
  ['gemm transA', (a, b, c) => T.gemm(a, b, c, { transA: true }), [f(4, 6), f(4, 3), f(1, 3)]],
  ['conv2d pad 1', (x, w, b) => T.conv2d(x, w, b, { padding: 1 }), [f(2, 3, 6, 6), f(4, 3, 3, 3), f(4)]],
  ['conv2d stride 2 pad 1', (x, w) => T.conv2d(x, w, undefined, { stride: 2, padding: 1 }), [f(2, 3, 7, 7), f(4, 3, 3, 3)]],
  ['conv2d stride 2 no pad, 1x1', (x, w) => T.conv2d(x, w, undefined, { stride: 2 }), [f(2, 3, 6, 6), f(5, 3, 1, 1)]],
  ['conv2d 5x5 stride 3 asym', (x, w) => T.conv2d(x, w, undefined, { stride: [3, 2], padding: [2, 1] }), [f(1, 2, 9, 8), f(3, 2, 5, 5)]],
  // Channel counts that are multiples of 8 take the NCHWc lowerings (when the target has them):
  // small maps use the swapped-role dW, large maps the patch dW, stride 2 the ConvTranspose dX.
  ['conv2d 8→16 pad 1, small map', (x, w, b) => T.conv2d(x, w, b, { padding: 1 }), [f(8, 8, 6, 6), f(16, 8, 3, 3), f(16)]],
  ['conv2d 8→8 pad 1, large map', (x, w) => T.conv2d(x, w, undefined, { padding: 1 }), [f(2, 8, 17, 17), f(8, 8, 3, 3)]],
  ['conv2d 16→8 1x1', (x, w) => T.conv2d(x, w, undefined, {}), [f(8, 16, 5, 5), f(8, 16, 1, 1)]],
  ['conv2d 8→16 stride 2 pad 1', (x, w) => T.conv2d(x, w, undefined, { stride: 2, padding: 1 }), [f(8, 8, 8, 8), f(16, 8, 3, 3)]],
  ['conv2d 8→8 5x5 pad 2', (x, w) => T.conv2d(x, w, undefined, { padding: 2 }), [f(8, 8, 7, 7), f(8, 8, 5, 5)]],
  ['maxpool 2x2', (x) => T.maxPool2d(x, 2), [f(2, 3, 6, 6)]],
  ['maxpool 3x3 stride 2 pad 1 (overlapping)', (x) => T.maxPool2d(x, 3, { stride: 2, padding: 1 }), [f(2, 2, 7, 7)]],
  ['avgpool 2x2', (x) => T.avgPool2d(x, 2), [f(2, 3, 6, 6)]],
  ['avgpool 3x3 stride 2 pad 1, pad excluded', (x) => T.avgPool2d(x, 3, { stride: 2, padding: 1, countIncludePad: false }), [f(2, 2, 7, 7)]],
  ['avgpool 3x3 stride 2 pad 1, pad included', (x) => T.avgPool2d(x, 3, { stride: 2, padding: 1, countIncludePad: true }), [f(1, 2, 6, 6)]],
  ['global average pool', (x) => T.globalAvgPool(x), [f(2, 3, 5, 4)]],
  ['reshape', (x) => T.reshape(x, [4, -1]), [f(2, 3, 4)]],
  ['flatten', (x) => T.flatten(x, 1), [f(2, 3, 4)]],
  ['transpose', (x) => T.transpose(x, [2, 0, 1]), [f(2, 3, 4)]],
  ['concat', (a, b) => T.concat([a, b], 1), [f(2, 3), f(2, 5)]],
  ['split (partial use)', (a) => T.split(a, 1, [2, 3, 1])[1], [f(3, 6)]],
  ['slice', (x) => T.slice(x, [1, 0], [3, -1], [0, 2]), [f(4, 3, 5)]],
  ['pad', (x) => T.pad(x, [1, 0, 2, 1]), [f(3, 4)]],
  ['expand', (x) => T.expand(x, [3, 4, 5]), [f(4, 1)]],
  ['reduceSum axes', (x) => T.reduceSum(x, [0, 2]), [f(2, 3, 4)]],
  ['reduceSum keepdims', (x) => T.reduceSum(x, [1], true), [f(2, 3, 4)]],
  ['reduceMean', (x) => T.reduceMean(x, [-1]), [f(2, 3, 4)]],
  ['logSoftmax', (x) => T.logSoftmax(x, -1), [f(4, 7)]],
  ['softmax', (x) => T.softmax(x, 1), [f(4, 7)]],
  [
    'softmax cross-entropy',
    (x, y) => T.softmaxCrossEntropy(x, y),
    [f(6, 5), { shape: [6], dtype: 'int64', data: BigInt64Array.from([0, 4, 2, 2, 1, 3].map(BigInt)) }],
  ],
  [
    'batch norm (train mode, NCHW)',
    (x, s, b, m, v) => T.batchNormTrain(x, { scale: s, bias: b, runningMean: m, runningVar: v }).y,
    [f(4, 3, 3, 3), f(3), f(3), { shape: [3], wrt: false }, { shape: [3], data: uniform(3, 5, 0.5, 2), wrt: false }],
  ],
  [
    'batch norm (train mode, NC)',
    (x, s, b, m, v) => T.batchNormTrain(x, { scale: s, bias: b, runningMean: m, runningVar: v }).y,
    [f(8, 5), f(5), f(5), { shape: [5], wrt: false }, { shape: [5], data: uniform(5, 5, 0.5, 2), wrt: false }],
  ],
  [
    'batch norm (eval mode)',
    (x, s, b, m, v) => T.batchNormEval(x, { scale: s, bias: b, runningMean: m, runningVar: v }),
    [f(2, 3, 4, 4), f(3), f(3), { shape: [3], wrt: false }, { shape: [3], data: uniform(3, 6, 0.5, 2), wrt: false }],
  ],
  ['layer norm (channels of NCHW)', (x, s, b) => T.layerNorm(x, s, b, [1]), [f(2, 4, 3, 3), f(4), f(4)]],
  ['layer norm (last axis)', (x, s, b) => T.layerNorm(x, s, b, [-1]), [f(5, 6), f(6), f(6)]],
];

const targets = await targetsOf(rt);

describe.each(targets)('op gradients match central finite differences (%s lowering)', (_t, target) => {
  it.each(cases)('%s', async (_name, build, inputs) => {
    const res = await gradCheck(rt, build, inputs, { target });
    expect(res.maxRelError, JSON.stringify(res.checks)).toBeLessThan(TOL);
  });
});

describe('the checker can fail', () => {
  // Ops with deliberately wrong gradient rules: a scaled gradient, and a matmul gradient
  // that forgets a transpose (wrong in a direction orthogonal to the true gradient).
  const ScaledExp = defineOp<object>({
    type: 'ScaledExpTest',
    infer: ([x]) => [{ shape: x.shape, dtype: x.dtype }],
    lower: (ctx, ins, outs) => ctx.emit('Exp', ins, outs),
    grad: (n, [g]) => [T.mul(T.mul(g!, n.outputs[0]), 1.05)],
  });
  const SwappedMatMul = defineOp<object>({
    type: 'SwappedMatMulTest',
    infer: ([a, b]) => [{ shape: [a.shape[0], b.shape[1]], dtype: a.dtype }],
    lower: (ctx, ins, outs) => ctx.emit('MatMul', ins, outs),
    grad: (n, [g]) => [T.matmul(g!, n.inputs[1], { transB: true }), T.transpose(T.matmul(n.inputs[0], g!, { transA: true }))],
  });

  it('flags a gradient that is 5 % too large', async () => {
    const res = await gradCheck(rt, (a) => a.graph.apply(ScaledExp, [a], {})[0], [f(3, 4)]);
    expect(res.maxRelError).toBeGreaterThan(TOL);
  });

  it('flags a gradient with a wrong layout', async () => {
    const res = await gradCheck(rt, (a, b) => a.graph.apply(SwappedMatMul, [a, b], {})[0], [f(4, 4), f(4, 4)]);
    expect(res.maxRelError).toBeGreaterThan(TOL);
  });
});
