// A reference measured in the same run as every benchmark: ORT's single-GEMM throughput.
// Comparing a figure against it separates "our code got slower" from "the box is busy".
import { compileGraph } from '../tensor/compile.js';
import { Graph } from '../tensor/graph.js';
import { encodeModel } from '../tensor/onnx/encode.js';
import { matmul } from '../tensor/ops/index.js';
import { compiledModel, type Runtime } from '../tensor/runtime/pool.js';
import { median } from './stats.js';

/** GFLOP/s of a 1024³ float32 MatMul in the runtime's worker (median of `reps`). */
export async function gemmReference(rt: Runtime, reps = 9): Promise<number> {
  const n = 1024;
  const g = new Graph();
  const a = g.input('a', [n, n]);
  const b = g.input('b', [n, n]);
  const m = compiledModel(encodeModel(compileGraph(g, { c: matmul(a, b) })));
  const data = new Float32Array(n * n).map((_, i) => ((i * 7919) % 1000) / 1000 - 0.5);
  const feeds = { a: { dtype: 'float32' as const, dims: [n, n], data }, b: { dtype: 'float32' as const, dims: [n, n], data } };
  await rt.run(m, feeds);
  const ms: number[] = [];
  for (let i = 0; i < reps; i++) ms.push((await rt.run(m, feeds)).ms);
  await rt.release(m);
  return (2 * n ** 3) / (median(ms) * 1e6);
}
