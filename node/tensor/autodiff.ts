// Reverse-mode automatic differentiation: walks the graph backwards from a scalar and
// appends the gradient computation to the same graph, using each op's own grad rule.
import type { Graph, Node, Tensor } from './graph.js';
import { add } from './ops/elementwise.js';
import { zerosLike } from './ops/shape-ops.js';
import { isFloat } from './dtype.js';
import { isStatic, sameShape } from './shape.js';

/**
 * Gradients of `y` with respect to each tensor in `wrt`. `y` must be a scalar unless a
 * `seed` (the gradient of some outer objective with respect to y) is given. Tensors in
 * `wrt` that y does not depend on get zeros.
 */
export function gradients(y: Tensor, wrt: ReadonlyArray<Tensor>, seed?: Tensor): Tensor[] {
  const g: Graph = y.graph;
  if (!seed && y.shape.length !== 0) throw new Error(`gradients: ${y} is not a scalar; pass a seed gradient`);
  if (seed && !sameShape(seed.shape, y.shape)) throw new Error('gradients: seed shape differs from y');
  const nodes = g.nodes.slice();

  // Forward pass: which tensors depend on a wrt tensor (only those need gradients).
  const needs = new Set<Tensor>(wrt);
  for (const n of nodes) {
    if (n.inputs.some((t) => needs.has(t))) for (const o of n.outputs) needs.add(o);
  }
  if (!needs.has(y)) return wrt.map((w) => zerosLike(w));

  const grads = new Map<Tensor, Tensor>();
  grads.set(y, seed ?? g.constant(Float32Array.of(1), [], 'float32'));

  for (let i = nodes.length - 1; i >= 0; i--) {
    const node: Node = nodes[i];
    if (!node.outputs.some((o) => needs.has(o))) continue;
    const dOut = node.outputs.map((o) => grads.get(o));
    if (dOut.every((d) => d === undefined)) continue;
    const wanted = node.inputs.map((t) => needs.has(t) && isFloat(t.dtype));
    if (!wanted.some(Boolean)) continue;
    if (!node.op.grad) throw new Error(`gradients: op ${node.op.type} is not differentiable (reached from ${y})`);
    for (const t of node.inputs) {
      if (!isStatic(t.shape)) throw new Error(`gradients: ${node.op.type} has a dynamic-shaped input ${t}; training graphs must be static`);
    }
    const dIn = node.op.grad(node, dOut);
    node.inputs.forEach((t, k) => {
      const d = dIn[k];
      if (!wanted[k] || !d) return;
      if (!sameShape(d.shape, t.shape)) {
        throw new Error(`gradients: ${node.op.type} produced a gradient ${d} for input ${t} (shape mismatch)`);
      }
      const prev = grads.get(t);
      grads.set(t, prev ? add(prev, d) : d);
    });
  }
  return wrt.map((w) => grads.get(w) ?? zerosLike(w));
}

