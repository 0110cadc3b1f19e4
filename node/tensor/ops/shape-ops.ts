// Ops that move data without arithmetic: reshape, transpose, concat/split, slice/pad,
// expand, gather, and zero-filled tensors.
import type { DType } from '../dtype.js';
import { defineOp, type Graph, type Tensor } from '../graph.js';
import { DYN, normAxis, numel, sameShape, type Shape } from '../shape.js';
import { graphOf } from './operand.js';
import { sumTo } from './reduce.js';

function inferReshape(x: Shape, target: ReadonlyArray<number>): number[] {
  const out = target.map((d, i) => (d === 0 ? x[i] : d));
  const unknown = out.indexOf(-1);
  if (out.indexOf(-1, unknown + 1) >= 0) throw new Error('reshape: at most one -1 in the target');
  if (x.some((d) => d === DYN)) return out.map((d) => (d === -1 ? DYN : d));
  const known = out.reduce((p, d) => (d === -1 ? p : p * d), 1);
  const total = numel(x);
  if (unknown >= 0) {
    if (total % known !== 0) throw new Error(`reshape: [${x}] cannot become [${target}]`);
    out[unknown] = total / known;
  } else if (known !== total) {
    throw new Error(`reshape: [${x}] (${total} elements) cannot become [${target}]`);
  }
  return out;
}

export const Reshape = defineOp<{ shape: ReadonlyArray<number> }>({
  type: 'Reshape',
  infer: ([x], a) => [{ shape: inferReshape(x.shape, a.shape), dtype: x.dtype }],
  lower: (ctx, [x], outs, n) => ctx.emit('Reshape', [x, ctx.i64(n.attrs.shape)], outs),
  grad: (n, [g]) => [reshape(g!, n.inputs[0].shape)],
});

/** Flatten to 2-D at `axis`; lowered to ONNX Flatten so a dynamic batch survives export. */
export const Flatten = defineOp<{ axis: number }>({
  type: 'Flatten',
  infer: ([x], { axis }) => {
    const lead = x.shape.slice(0, axis);
    const rest = x.shape.slice(axis);
    const prod = (s: Shape) => (s.some((d) => d === DYN) ? DYN : s.reduce((p, d) => p * d, 1));
    return [{ shape: [prod(lead), prod(rest)], dtype: x.dtype }];
  },
  lower: (ctx, ins, outs, n) => ctx.emit('Flatten', ins, outs, { axis: { i: n.attrs.axis } }),
  grad: (n, [g]) => [reshape(g!, n.inputs[0].shape)],
});

export const Transpose = defineOp<{ perm: ReadonlyArray<number> }>({
  type: 'Transpose',
  infer: ([x], { perm }) => {
    if (perm.length !== x.rank || [...perm].sort().some((p, i) => p !== i)) throw new Error(`transpose: bad perm [${perm}]`);
    return [{ shape: perm.map((p) => x.shape[p]), dtype: x.dtype }];
  },
  lower: (ctx, ins, outs, n) => ctx.emit('Transpose', ins, outs, { perm: { ints: n.attrs.perm } }),
  grad: (n, [g]) => {
    const inv = new Array<number>(n.attrs.perm.length);
    n.attrs.perm.forEach((p, i) => (inv[p] = i));
    return [transpose(g!, inv)];
  },
});

export const Concat = defineOp<{ axis: number }>({
  type: 'Concat',
  infer: (xs, { axis }) => {
    const first = xs[0];
    let total = 0;
    for (const x of xs) {
      if (x.rank !== first.rank || x.dtype !== first.dtype) throw new Error('concat: rank/dtype mismatch');
      x.shape.forEach((d, i) => {
        if (i !== axis && d !== first.shape[i]) throw new Error(`concat: shapes [${first.shape}] and [${x.shape}] differ off axis ${axis}`);
      });
      total += x.shape[axis];
    }
    return [{ shape: first.shape.map((d, i) => (i === axis ? total : d)), dtype: first.dtype }];
  },
  lower: (ctx, ins, outs, n) => ctx.emit('Concat', ins, outs, { axis: { i: n.attrs.axis } }),
  grad: (n, [g]) => split(g!, n.attrs.axis, n.inputs.map((x) => x.shape[n.attrs.axis])),
});

export const Split = defineOp<{ axis: number; sizes: ReadonlyArray<number> }>({
  type: 'Split',
  infer: ([x], { axis, sizes }) => {
    if (sizes.reduce((p, s) => p + s, 0) !== x.shape[axis]) throw new Error(`split: sizes do not add up to ${x.shape[axis]}`);
    return sizes.map((s) => ({ shape: x.shape.map((d, i) => (i === axis ? s : d)), dtype: x.dtype }));
  },
  // Split's outputs are not optional in ONNX, so unused ones still need names.
  lower: (ctx, [x], outs, n) =>
    ctx.emit('Split', [x, ctx.i64(n.attrs.sizes)], outs.map((o) => o || ctx.temp('unused')), { axis: { i: n.attrs.axis } }),
  grad: (n, gs) => [concat(gs.map((g, i) => g ?? zeros(n.inputs[0].graph, n.outputs[i].shape, n.outputs[i].dtype)), n.attrs.axis)],
});

interface SliceAttrs {
  readonly starts: ReadonlyArray<number>;
  readonly ends: ReadonlyArray<number>;
  readonly axes: ReadonlyArray<number>;
  readonly steps: ReadonlyArray<number>;
}

/** Effective [start, end) and count on one axis, with ONNX's clamping rules. */
function sliceRange(dim: number, start: number, end: number, step: number): { start: number; count: number } {
  const clamp = (v: number, lo: number, hi: number) => Math.min(Math.max(v, lo), hi);
  let s = start < 0 ? start + dim : start;
  let e = end < 0 ? end + dim : end;
  if (step > 0) {
    s = clamp(s, 0, dim);
    e = clamp(e, 0, dim);
    return { start: s, count: Math.max(0, Math.ceil((e - s) / step)) };
  }
  s = clamp(s, 0, dim - 1);
  e = clamp(e, -1, dim - 1);
  return { start: s, count: Math.max(0, Math.ceil((e - s) / step)) };
}

export const Slice = defineOp<SliceAttrs>({
  type: 'Slice',
  infer: ([x], a) => {
    const shape = [...x.shape];
    a.axes.forEach((ax, i) => (shape[ax] = sliceRange(x.shape[ax], a.starts[i], a.ends[i], a.steps[i]).count));
    return [{ shape, dtype: x.dtype }];
  },
  lower: (ctx, [x], outs, n) =>
    ctx.emit('Slice', [x, ctx.i64(n.attrs.starts), ctx.i64(n.attrs.ends), ctx.i64(n.attrs.axes), ctx.i64(n.attrs.steps)], outs),
  grad: (n, [g]) => {
    const x = n.inputs[0];
    if (n.attrs.steps.some((s) => s !== 1)) throw new Error('slice: only unit steps are differentiable');
    const before = new Array<number>(x.rank).fill(0);
    const after = new Array<number>(x.rank).fill(0);
    n.attrs.axes.forEach((ax, i) => {
      const r = sliceRange(x.shape[ax], n.attrs.starts[i], n.attrs.ends[i], 1);
      before[ax] = r.start;
      after[ax] = x.shape[ax] - r.start - r.count;
    });
    return [pad(g!, [...before, ...after])];
  },
});

/** Constant-mode zero padding; pads = [begin_0, …, begin_r, end_0, …, end_r]. */
export const Pad = defineOp<{ pads: ReadonlyArray<number> }>({
  type: 'Pad',
  infer: ([x], { pads }) => [{ shape: x.shape.map((d, i) => d + pads[i] + pads[i + x.rank]), dtype: x.dtype }],
  lower: (ctx, [x], outs, n) => ctx.emit('Pad', [x, ctx.i64(n.attrs.pads)], outs, { mode: { s: 'constant' } }),
  grad: (n, [g]) => {
    const x = n.inputs[0];
    const axes = x.shape.map((_, i) => i);
    return [slice(g!, axes.map((i) => n.attrs.pads[i]), axes.map((i) => n.attrs.pads[i] + x.shape[i]), axes)];
  },
});

export const Expand = defineOp<{ shape: ReadonlyArray<number> }>({
  type: 'Expand',
  infer: ([x], { shape }) => [{ shape: [...shape], dtype: x.dtype }],
  lower: (ctx, [x], outs, n) => ctx.emit('Expand', [x, ctx.i64(n.attrs.shape)], outs),
  grad: (n, [g]) => [sumTo(g!, n.inputs[0].shape)],
});

export const Gather = defineOp<{ axis: number }>({
  type: 'Gather',
  infer: ([x, idx], { axis }) => {
    if (idx.dtype !== 'int64' && idx.dtype !== 'int32') throw new Error('gather: indices must be integers');
    return [{ shape: [...x.shape.slice(0, axis), ...idx.shape, ...x.shape.slice(axis + 1)], dtype: x.dtype }];
  },
  lower: (ctx, ins, outs, n) => ctx.emit('Gather', ins, outs, { axis: { i: n.attrs.axis } }),
});

export const Zeros = defineOp<{ shape: ReadonlyArray<number>; dtype: DType }>({
  type: 'Zeros',
  infer: (_, a) => [{ shape: [...a.shape], dtype: a.dtype }],
  lower: (ctx, _ins, outs, n) => {
    const dt = n.attrs.dtype;
    const data = dt === 'float32' ? new Float32Array(1) : dt === 'int64' ? new BigInt64Array(1) : undefined;
    if (!data) throw new Error(`zeros: unsupported dtype ${dt}`);
    ctx.emit('ConstantOfShape', [ctx.i64(n.attrs.shape)], outs, { value: { t: { name: '', dtype: dt, dims: [1], data } } });
  },
});

// ---- builder functions -------------------------------------------------------------------

export function reshape(x: Tensor, shape: ReadonlyArray<number>): Tensor {
  if (sameShape(x.shape, shape)) return x;
  return x.graph.apply(Reshape, [x], { shape: [...shape] })[0];
}

export const flatten = (x: Tensor, axis = 1): Tensor => x.graph.apply(Flatten, [x], { axis: normAxis(axis, x.rank) })[0];

export function transpose(x: Tensor, perm?: ReadonlyArray<number>): Tensor {
  const p = perm ?? x.shape.map((_, i) => x.rank - 1 - i);
  if (p.every((v, i) => v === i)) return x;
  return x.graph.apply(Transpose, [x], { perm: [...p] })[0];
}

export function concat(xs: ReadonlyArray<Tensor>, axis: number): Tensor {
  if (xs.length === 1) return xs[0];
  return graphOf(...xs).apply(Concat, xs, { axis: normAxis(axis, xs[0].rank) })[0];
}

export function split(x: Tensor, axis: number, sizes: ReadonlyArray<number>): Tensor[] {
  if (sizes.length === 1) return [x];
  return x.graph.apply(Split, [x], { axis: normAxis(axis, x.rank), sizes: [...sizes] });
}

export function slice(
  x: Tensor,
  starts: ReadonlyArray<number>,
  ends: ReadonlyArray<number>,
  axes?: ReadonlyArray<number>,
  steps?: ReadonlyArray<number>,
): Tensor {
  const ax = (axes ?? starts.map((_, i) => i)).map((a) => normAxis(a, x.rank));
  return x.graph.apply(Slice, [x], { starts: [...starts], ends: [...ends], axes: ax, steps: [...(steps ?? ax.map(() => 1))] })[0];
}

export function pad(x: Tensor, pads: ReadonlyArray<number>): Tensor {
  if (pads.every((p) => p === 0)) return x;
  return x.graph.apply(Pad, [x], { pads: [...pads] })[0];
}

export function expand(x: Tensor, shape: ReadonlyArray<number>): Tensor {
  if (sameShape(x.shape, shape)) return x;
  return x.graph.apply(Expand, [x], { shape: [...shape] })[0];
}

export const gather = (x: Tensor, indices: Tensor, axis = 0): Tensor =>
  graphOf(x, indices).apply(Gather, [x, indices], { axis: normAxis(axis, x.rank) })[0];

export const zeros = (g: Graph, shape: ReadonlyArray<number>, dtype: DType = 'float32'): Tensor => g.apply(Zeros, [], { shape: [...shape], dtype })[0];

export const zerosLike = (x: Tensor): Tensor => zeros(x.graph, x.shape, x.dtype);
