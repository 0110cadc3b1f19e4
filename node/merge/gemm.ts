// A·Bᵀ for float32 matrices on ORT (for costs and Gram matrices too large for JS loops).
import { compileGraph } from '../tensor/compile.js';
import { Graph } from '../tensor/graph.js';
import { encodeModel } from '../tensor/onnx/encode.js';
import { matmul } from '../tensor/ops/index.js';
import { compiledModel, type CompiledModel, type Runtime } from '../tensor/runtime/pool.js';

const graphs = new Map<string, CompiledModel>();

/**
 * a [n × k] · b [m × k]ᵀ → [n × m] (row-major). Sessions are cached per shape. The operands
 * are copied to the worker (or, with transferB, b moved) before the promise is returned, so a
 * caller may refill them at once.
 */
export async function gemmABt(rt: Runtime, a: Float32Array, b: Float32Array, n: number, m: number, k: number, opts: { transferB?: boolean } = {}): Promise<Float32Array> {
  if (a.length !== n * k || b.length !== m * k) throw new Error(`gemm: operands of ${a.length} and ${b.length} values for ${n}×${k} · (${m}×${k})ᵀ`);
  const key = `${n}x${m}x${k}`;
  let model = graphs.get(key);
  if (!model) {
    const g = new Graph();
    const ta = g.input('a', [n, k]);
    const tb = g.input('b', [m, k]);
    graphs.set(key, (model = compiledModel(encodeModel(compileGraph(g, { c: matmul(ta, tb, { transB: true }) })))));
  }
  // b is often built for this call only: moving it saves a copy of megabytes.
  const transfer = opts.transferB && b.byteOffset === 0 && b.byteLength === b.buffer.byteLength ? [b.buffer as ArrayBuffer] : [];
  const res = await rt.run(model, { a: { dtype: 'float32', dims: [n, k], data: a }, b: { dtype: 'float32', dims: [m, k], data: b } }, { transfer });
  return res.outputs.c.data as Float32Array;
}
