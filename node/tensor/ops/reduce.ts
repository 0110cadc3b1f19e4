// Reductions over axes. Their gradients broadcast back, so they pair with sumTo, the
// reduction that undoes broadcasting in elementwise gradients.
import { defineOp, type Tensor } from '../graph.js';
import { DYN, normAxis, numel, sameShape, type Shape } from '../shape.js';
import { div, mul } from './elementwise.js';
import { expand, reshape } from './shape-ops.js';

interface ReduceAttrs {
  readonly axes: ReadonlyArray<number>;
  readonly keepdims: boolean;
}

function reducedShape(shape: Shape, { axes, keepdims }: ReduceAttrs): number[] {
  const out: number[] = [];
  shape.forEach((d, i) => {
    if (!axes.includes(i)) out.push(d);
    else if (keepdims) out.push(1);
  });
  return out;
}

function keptShape(shape: Shape, axes: ReadonlyArray<number>): number[] {
  return shape.map((d, i) => (axes.includes(i) ? 1 : d));
}

function reduction(type: 'ReduceSum' | 'ReduceMean' | 'ReduceMax' | 'ReduceMin' | 'ReduceSumSquare') {
  return defineOp<ReduceAttrs>({
    type,
    infer: ([x], a) => [{ shape: reducedShape(x.shape, a), dtype: x.dtype }],
    lower: (ctx, [x], outs, n) => ctx.emit(type, [x, ctx.i64(n.attrs.axes)], outs, { keepdims: { i: n.attrs.keepdims ? 1 : 0 } }),
    grad:
      type === 'ReduceSum' || type === 'ReduceMean'
        ? (n, [g]) => {
            const x = n.inputs[0];
            let gx = expand(reshape(g!, keptShape(x.shape, n.attrs.axes)), x.shape);
            if (type === 'ReduceMean') gx = div(gx, n.attrs.axes.reduce((p, a) => p * x.shape[a], 1));
            return [gx];
          }
        : type === 'ReduceSumSquare'
          ? (n, [g]) => {
              const x = n.inputs[0];
              return [mul(expand(reshape(g!, keptShape(x.shape, n.attrs.axes)), x.shape), mul(x, 2))];
            }
          : undefined,
  });
}

export const ReduceSum = reduction('ReduceSum');
export const ReduceMean = reduction('ReduceMean');
export const ReduceMax = reduction('ReduceMax');
export const ReduceMin = reduction('ReduceMin');
/** Σ x² in one pass (no squared intermediate). */
export const ReduceSumSquare = reduction('ReduceSumSquare');

export const ArgMax = defineOp<{ axis: number; keepdims: boolean }>({
  type: 'ArgMax',
  infer: ([x], a) => [{ shape: reducedShape(x.shape, { axes: [a.axis], keepdims: a.keepdims }), dtype: 'int64' }],
  lower: (ctx, ins, outs, n) => ctx.emit('ArgMax', ins, outs, { axis: { i: n.attrs.axis }, keepdims: { i: n.attrs.keepdims ? 1 : 0 } }),
  grad: () => [undefined],
});

function reduceWith(op: typeof ReduceSum, x: Tensor, axes?: ReadonlyArray<number>, keepdims = false): Tensor {
  const ax = [...new Set((axes ?? x.shape.map((_, i) => i)).map((a) => normAxis(a, x.rank)))].sort((a, b) => a - b);
  if (ax.length === 0) return x;
  return x.graph.apply(op, [x], { axes: ax, keepdims })[0];
}

/** Sum over axes (all axes when omitted). */
export const reduceSum = (x: Tensor, axes?: ReadonlyArray<number>, keepdims = false): Tensor => reduceWith(ReduceSum, x, axes, keepdims);
export const reduceMean = (x: Tensor, axes?: ReadonlyArray<number>, keepdims = false): Tensor => reduceWith(ReduceMean, x, axes, keepdims);
export const reduceMax = (x: Tensor, axes?: ReadonlyArray<number>, keepdims = false): Tensor => reduceWith(ReduceMax, x, axes, keepdims);
export const reduceMin = (x: Tensor, axes?: ReadonlyArray<number>, keepdims = false): Tensor => reduceWith(ReduceMin, x, axes, keepdims);
export const reduceSumSquare = (x: Tensor, axes?: ReadonlyArray<number>, keepdims = false): Tensor => reduceWith(ReduceSumSquare, x, axes, keepdims);
export const argMax = (x: Tensor, axis: number, keepdims = false): Tensor =>
  x.graph.apply(ArgMax, [x], { axis: normAxis(axis, x.rank), keepdims })[0];

/** Sums a broadcast gradient back down to `shape`. */
export function sumTo(g: Tensor, shape: Shape): Tensor {
  if (sameShape(g.shape, shape)) return g;
  const lead = g.rank - shape.length;
  if (lead < 0) throw new Error(`sumTo: cannot sum [${g.shape}] up to larger [${shape}]`);
  const axes: number[] = [];
  for (let i = 0; i < g.rank; i++) {
    const target = i < lead ? 1 : shape[i - lead];
    if (i < lead || (target === 1 && g.shape[i] !== 1)) axes.push(i);
    else if (target !== g.shape[i] && target !== DYN) throw new Error(`sumTo: [${g.shape}] does not broadcast from [${shape}]`);
  }
  const s = reduceSum(g, axes, true);
  return sameShape(s.shape, shape) ? s : reshape(s, shape);
}

/** Mean of all elements as a scalar. */
export function mean(x: Tensor): Tensor {
  return mul(reduceSum(x), 1 / numel(x.shape));
}
