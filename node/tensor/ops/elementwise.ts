// Elementwise ops with NumPy broadcasting. Gradients of broadcast operands are summed back
// to the operand's shape (sumTo), which is where broadcasting bugs usually hide.
import type { DType } from '../dtype.js';
import { isFloat } from '../dtype.js';
import { defineOp, type OpDef, type Tensor } from '../graph.js';
import { broadcastShapes, sameShape } from '../shape.js';
import { graphOf, operands, type Operand } from './operand.js';
import { sumTo } from './reduce.js';

function binaryInfer(inputs: ReadonlyArray<Tensor>): { shape: number[]; dtype: DType }[] {
  const [a, b] = inputs;
  if (a.dtype !== b.dtype) throw new Error(`dtype mismatch: ${a.dtype} vs ${b.dtype}`);
  return [{ shape: broadcastShapes(a.shape, b.shape), dtype: a.dtype }];
}

function simple(type: string): OpDef<object>['lower'] {
  return (ctx, ins, outs) => ctx.emit(type, ins, outs);
}

export const Add = defineOp<object>({
  type: 'Add',
  infer: binaryInfer,
  lower: simple('Add'),
  grad: (n, [g]) => [sumTo(g!, n.inputs[0].shape), sumTo(g!, n.inputs[1].shape)],
});

export const Sub = defineOp<object>({
  type: 'Sub',
  infer: binaryInfer,
  lower: simple('Sub'),
  grad: (n, [g]) => [sumTo(g!, n.inputs[0].shape), sumTo(neg(g!), n.inputs[1].shape)],
});

export const Mul = defineOp<object>({
  type: 'Mul',
  infer: binaryInfer,
  lower: simple('Mul'),
  grad: (n, [g]) => {
    const [a, b] = n.inputs;
    return [sumTo(mul(g!, b), a.shape), sumTo(mul(g!, a), b.shape)];
  },
});

export const Div = defineOp<object>({
  type: 'Div',
  infer: binaryInfer,
  lower: simple('Div'),
  grad: (n, [g]) => {
    const [a, b] = n.inputs;
    const y = n.outputs[0];
    // d(a/b)/db = -a/b² = -y/b
    return [sumTo(div(g!, b), a.shape), sumTo(neg(div(mul(g!, y), b)), b.shape)];
  },
});

/** Elementwise maximum; the gradient goes to the larger operand (to `a` on ties). */
export const Max = defineOp<object>({
  type: 'Max',
  infer: binaryInfer,
  lower: simple('Max'),
  grad: (n, [g]) => {
    const [a, b] = n.inputs;
    const takeA = greaterOrEqual(a, b);
    return [sumTo(where(takeA, g!, 0), a.shape), sumTo(where(takeA, 0, g!), b.shape)];
  },
});

function unary(type: string, grad?: OpDef<object>['grad']): OpDef<object> {
  return defineOp<object>({
    type,
    infer: ([x]) => [{ shape: x.shape, dtype: x.dtype }],
    lower: simple(type),
    grad,
  });
}

export const Neg = unary('Neg', (_n, [g]) => [neg(g!)]);
export const Exp = unary('Exp', (n, [g]) => [mul(g!, n.outputs[0])]);
export const Log = unary('Log', (n, [g]) => [div(g!, n.inputs[0])]);
export const Sqrt = unary('Sqrt', (n, [g]) => [div(mul(g!, 0.5), n.outputs[0])]);
export const Reciprocal = unary('Reciprocal', (n, [g]) => {
  const y = n.outputs[0];
  return [neg(mul(g!, mul(y, y)))];
});
export const Abs = unary('Abs', (n, [g]) => [mul(g!, sign(n.inputs[0]))]);
export const Sign = unary('Sign', () => [undefined]);
export const Tanh = unary('Tanh', (n, [g]) => {
  const y = n.outputs[0];
  return [mul(g!, sub(1, mul(y, y)))];
});
export const Sigmoid = unary('Sigmoid', (n, [g]) => {
  const y = n.outputs[0];
  return [mul(g!, mul(y, sub(1, y)))];
});

/** Relu's gradient is expressed through its output, so the input need not stay alive. */
export const Relu = unary('Relu', (n, [g]) => [reluGrad(g!, n.outputs[0])]);

const ReluGrad = defineOp<object>({
  type: 'ReluGrad',
  infer: ([g]) => [{ shape: g.shape, dtype: g.dtype }],
  lower: (ctx, [g, y], [out]) => {
    const pos = ctx.temp('pos');
    ctx.emit('Greater', [y, ctx.scalar(0, 'float32')], [pos]);
    ctx.emit('Where', [pos, g, ctx.scalar(0, 'float32')], [out]);
  },
});

function comparison(type: string): OpDef<object> {
  return defineOp<object>({
    type,
    infer: (inputs) => [{ shape: binaryInfer(inputs)[0].shape, dtype: 'bool' }],
    lower: simple(type),
    grad: () => [undefined, undefined],
  });
}

export const Greater = comparison('Greater');
export const GreaterOrEqual = comparison('GreaterOrEqual');
export const Less = comparison('Less');
export const Equal = comparison('Equal');

export const Where = defineOp<object>({
  type: 'Where',
  infer: ([c, a, b]) => {
    if (c.dtype !== 'bool') throw new Error('Where: condition must be bool');
    if (a.dtype !== b.dtype) throw new Error(`Where: dtype mismatch ${a.dtype} vs ${b.dtype}`);
    return [{ shape: broadcastShapes(c.shape, broadcastShapes(a.shape, b.shape)), dtype: a.dtype }];
  },
  lower: simple('Where'),
  grad: (n, [g]) => {
    const [c, a, b] = n.inputs;
    return [undefined, sumTo(where(c, g!, 0), a.shape), sumTo(where(c, 0, g!), b.shape)];
  },
});

export const Cast = defineOp<{ to: DType }>({
  type: 'Cast',
  infer: ([x], { to }) => [{ shape: x.shape, dtype: to }],
  lower: (ctx, ins, outs, n) => {
    const codes: Record<DType, number> = { float32: 1, uint8: 2, int8: 3, int32: 6, int64: 7, bool: 9, float16: 10, float64: 11 };
    ctx.emit('Cast', ins, outs, { to: { i: codes[n.attrs.to] } });
  },
  grad: (n, [g]) => [isFloat(n.inputs[0].dtype) && isFloat(n.attrs.to) ? cast(g!, n.inputs[0].dtype) : undefined],
});

export const Identity = unary('Identity', (_n, [g]) => [g]);

// ---- builder functions -------------------------------------------------------------------

function bin(op: OpDef<object>, a: Operand, b: Operand): Tensor {
  const [ta, tb] = operands(a, b);
  return graphOf(ta, tb).apply(op, [ta, tb], {})[0];
}

export const add = (a: Operand, b: Operand): Tensor => bin(Add, a, b);
export const sub = (a: Operand, b: Operand): Tensor => bin(Sub, a, b);
export const mul = (a: Operand, b: Operand): Tensor => bin(Mul, a, b);
export const div = (a: Operand, b: Operand): Tensor => bin(Div, a, b);
export const maximum = (a: Operand, b: Operand): Tensor => bin(Max, a, b);
export const greater = (a: Operand, b: Operand): Tensor => bin(Greater, a, b);
export const greaterOrEqual = (a: Operand, b: Operand): Tensor => bin(GreaterOrEqual, a, b);
export const less = (a: Operand, b: Operand): Tensor => bin(Less, a, b);
export const equal = (a: Operand, b: Operand): Tensor => bin(Equal, a, b);

export const neg = (x: Tensor): Tensor => x.graph.apply(Neg, [x], {})[0];
export const exp = (x: Tensor): Tensor => x.graph.apply(Exp, [x], {})[0];
export const log = (x: Tensor): Tensor => x.graph.apply(Log, [x], {})[0];
export const sqrt = (x: Tensor): Tensor => x.graph.apply(Sqrt, [x], {})[0];
export const reciprocal = (x: Tensor): Tensor => x.graph.apply(Reciprocal, [x], {})[0];
export const abs = (x: Tensor): Tensor => x.graph.apply(Abs, [x], {})[0];
export const sign = (x: Tensor): Tensor => x.graph.apply(Sign, [x], {})[0];
export const tanh = (x: Tensor): Tensor => x.graph.apply(Tanh, [x], {})[0];
export const sigmoid = (x: Tensor): Tensor => x.graph.apply(Sigmoid, [x], {})[0];
export const relu = (x: Tensor): Tensor => x.graph.apply(Relu, [x], {})[0];
export const identity = (x: Tensor): Tensor => x.graph.apply(Identity, [x], {})[0];
export const cast = (x: Tensor, to: DType): Tensor => (x.dtype === to ? x : x.graph.apply(Cast, [x], { to })[0]);

function reluGrad(g: Tensor, y: Tensor): Tensor {
  if (!sameShape(g.shape, y.shape)) throw new Error('ReluGrad: shape mismatch');
  return g.graph.apply(ReluGrad, [g, y], {})[0];
}

export function where(c: Tensor, a: Operand, b: Operand): Tensor {
  const [ta, tb] = operands(a, b);
  return graphOf(c, ta, tb).apply(Where, [c, ta, tb], {})[0];
}
