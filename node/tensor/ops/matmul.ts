// Matrix products. One op covers MatMul and Gemm: transposes are attributes, so gradients
// never materialise a Transpose for 2-D operands (Gemm's transA/transB do it for free).
import { defineOp, type Tensor } from '../graph.js';
import { broadcastShapes, DYN } from '../shape.js';
import { add } from './elementwise.js';
import { graphOf } from './operand.js';
import { sumTo } from './reduce.js';

interface MatMulAttrs {
  readonly transA: boolean;
  readonly transB: boolean;
}

function matmulShape(a: Tensor, b: Tensor, { transA, transB }: MatMulAttrs): number[] {
  if (a.rank < 2 || b.rank < 2) throw new Error(`matmul needs rank ≥ 2 operands, got ${a} and ${b}`);
  const [m, ka] = transA ? [a.shape[a.rank - 1], a.shape[a.rank - 2]] : [a.shape[a.rank - 2], a.shape[a.rank - 1]];
  const [kb, n] = transB ? [b.shape[b.rank - 1], b.shape[b.rank - 2]] : [b.shape[b.rank - 2], b.shape[b.rank - 1]];
  if (ka !== kb && ka !== DYN && kb !== DYN) throw new Error(`matmul: inner dimensions ${ka} and ${kb} differ (${a} × ${b})`);
  const batch = broadcastShapes(a.shape.slice(0, -2), b.shape.slice(0, -2));
  return [...batch, m, n];
}

function swapLast(rank: number): number[] {
  const p = Array.from({ length: rank }, (_, i) => i);
  [p[rank - 2], p[rank - 1]] = [p[rank - 1], p[rank - 2]];
  return p;
}

export const MatMul = defineOp<MatMulAttrs>({
  type: 'MatMul',
  infer: ([a, b], attrs) => {
    if (a.dtype !== b.dtype) throw new Error('matmul: dtype mismatch');
    return [{ shape: matmulShape(a, b, attrs), dtype: a.dtype }];
  },
  lower: (ctx, [a, b], outs, n) => {
    const { transA, transB } = n.attrs;
    const [ta, tb] = n.inputs;
    if (!transA && !transB) return ctx.emit('MatMul', [a, b], outs);
    if (ta.rank === 2 && tb.rank === 2) {
      return ctx.emit('Gemm', [a, b], outs, { transA: { i: transA ? 1 : 0 }, transB: { i: transB ? 1 : 0 } });
    }
    // Batched transposes: ORT's optimiser folds Transpose+MatMul into one FusedMatMul kernel.
    let aa = a;
    let bb = b;
    if (transA) ctx.emit('Transpose', [a], [(aa = ctx.temp('aT'))], { perm: { ints: swapLast(ta.rank) } });
    if (transB) ctx.emit('Transpose', [b], [(bb = ctx.temp('bT'))], { perm: { ints: swapLast(tb.rank) } });
    ctx.emit('MatMul', [aa, bb], outs);
  },
  grad: (n, [g]) => productGrads(n.inputs[0], n.inputs[1], n.attrs, g!),
});

/** Gradients of op(A)·op(B): each is again one product with transpose flags, never a Transpose. */
function productGrads(a: Tensor, b: Tensor, { transA, transB }: MatMulAttrs, g: Tensor): [Tensor, Tensor] {
  const da = transA ? matmul(b, g, { transA: transB, transB: true }) : matmul(g, b, { transB: !transB });
  const db = transB ? matmul(g, a, { transA: true, transB: transA }) : matmul(a, g, { transA: !transA });
  return [sumTo(da, a.shape), sumTo(db, b.shape)];
}

/** Y = op(A)·op(B) + C with C broadcast to [M, N]: ONNX Gemm, i.e. a fully connected layer. */
export const Gemm = defineOp<MatMulAttrs>({
  type: 'Gemm',
  infer: ([a, b, c], attrs) => {
    if (a.rank !== 2 || b.rank !== 2) throw new Error('gemm: operands must be 2-D');
    const shape = matmulShape(a, b, attrs);
    broadcastShapes(c.shape, shape);
    return [{ shape, dtype: a.dtype }];
  },
  lower: (ctx, ins, outs, n) =>
    ctx.emit('Gemm', ins, outs, { transA: { i: n.attrs.transA ? 1 : 0 }, transB: { i: n.attrs.transB ? 1 : 0 } }),
  grad: (n, [g]) => {
    const [a, b, c] = n.inputs;
    return [...productGrads(a, b, n.attrs, g!), sumTo(g!, c.shape)];
  },
});

export interface MatMulOptions {
  readonly transA?: boolean;
  readonly transB?: boolean;
}

export function matmul(a: Tensor, b: Tensor, opts: MatMulOptions = {}): Tensor {
  return graphOf(a, b).apply(MatMul, [a, b], { transA: !!opts.transA, transB: !!opts.transB })[0];
}

export function gemm(a: Tensor, b: Tensor, c: Tensor, opts: MatMulOptions = {}): Tensor {
  return graphOf(a, b, c).apply(Gemm, [a, b, c], { transA: !!opts.transA, transB: !!opts.transB })[0];
}

/** PyTorch's Linear: x·Wᵀ + b with W stored [out, in]. */
export function linear(x: Tensor, w: Tensor, b?: Tensor): Tensor {
  if (b && x.rank === 2) return gemm(x, w, b, { transB: true });
  const y = matmul(x, w, { transB: true });
  return b ? add(y, b) : y;
}
