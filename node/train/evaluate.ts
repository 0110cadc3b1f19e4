// Evaluation: logits from the cached inference session, loss and accuracy computed in JS.
import { gatherBatch, inputScaling, type Dataset, type InputScaling } from '../data/dataset.js';
import { inferenceGraph } from '../model/graphs.js';
import { weightFeeds } from '../model/weights-io.js';
import type { Model } from '../model/model.js';
import type { CompileTarget } from '../tensor/graph.js';
import { encodeModel } from '../tensor/onnx/encode.js';
import { compiledModel, type CompiledModel, type Runtime } from '../tensor/runtime/pool.js';

export interface EvalResult {
  readonly accuracy: number;
  readonly loss: number;
  readonly count: number;
}

const inference = new WeakMap<Model, Map<string, CompiledModel>>();

/** The model's pixel-input inference graph for a target and scaling (cached). */
export function inferenceModel(model: Model, target: CompileTarget, pixels: InputScaling): CompiledModel {
  let cache = inference.get(model);
  if (!cache) inference.set(model, (cache = new Map()));
  const key = `${target.nchwcBlock ?? 0}:${pixels.scale}:${pixels.shift}`;
  let m = cache.get(key);
  if (!m) cache.set(key, (m = compiledModel(encodeModel(inferenceGraph(model, { target, pixels })))));
  return m;
}

/**
 * Packed inputs of a sample set, by the indices array that names it: a simulation evaluates
 * every agent on the same test subset every round, and an agent checks neighbours on the same
 * own samples. Shared memory, so a worker reads them without a copy per call.
 */
const packedInputs = new WeakMap<object, { ds: Dataset; chunk: number; samples: Int32Array; parts: Uint8Array[] }>();

const everySample = new WeakMap<Dataset, Int32Array>();
/** 0 … count−1 for a dataset, one array per dataset (so its packed inputs are cached too). */
function allOf(ds: Dataset): Int32Array {
  let all = everySample.get(ds);
  if (!all) everySample.set(ds, (all = Int32Array.from({ length: ds.count }, (_, i) => i)));
  return all;
}

function sameSamples(a: Int32Array, b: ArrayLike<number>): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function packedChunks(ds: Dataset, idx: ArrayLike<number>, chunk: number): Uint8Array[] {
  const cached = packedInputs.get(idx);
  // Compared element by element, so a caller that refills its indices array gets its new samples.
  if (cached && cached.ds === ds && cached.chunk === chunk && sameSamples(cached.samples, idx)) return cached.parts;
  const d = ds.shape[0] * ds.shape[1] * ds.shape[2];
  const labels = new BigInt64Array(chunk);
  const parts: Uint8Array[] = [];
  for (let start = 0; start < idx.length; start += chunk) {
    const n = Math.min(chunk, idx.length - start);
    const x = new Uint8Array(new SharedArrayBuffer(n * d));
    gatherBatch(ds, idx, start, n, x, labels);
    parts.push(x);
  }
  packedInputs.set(idx, { ds, chunk, samples: Int32Array.from(idx), parts });
  return parts;
}

/** Logits [n, heads·classes] for samples `indices` (default: all) of a dataset, in chunks. */
export async function predict(
  rt: Runtime,
  model: Model,
  weights: Float32Array,
  ds: Dataset,
  indices?: ArrayLike<number>,
  chunk = 1000,
): Promise<Float32Array> {
  const idx = indices ?? allOf(ds);
  const width = model.heads * model.classes;
  const out = new Float32Array(idx.length * width);
  const m = inferenceModel(model, await rt.target(), inputScaling(ds));
  let start = 0;
  for (const x of packedChunks(ds, idx, chunk)) {
    const n = x.length / (ds.shape[0] * ds.shape[1] * ds.shape[2]);
    const res = await rt.run(m, { ...weightFeeds(model.layout, weights), input: { dtype: 'uint8', dims: [n, ...ds.shape], data: x } });
    out.set(res.outputs.logits.data as Float32Array, start * width);
    start += n;
  }
  return out;
}

/**
 * Logits [n, heads·C] of a multi-head model as one ensemble prediction [n, C]: the log of
 * the heads' mean probabilities. A single head passes through unchanged.
 */
export function combineHeads(logits: Float32Array, heads: number, classes: number): Float32Array {
  if (heads === 1) return logits;
  const n = logits.length / (heads * classes);
  const out = new Float32Array(n * classes);
  const p = new Float64Array(classes);
  for (let i = 0; i < n; i++) {
    p.fill(0);
    for (let h = 0; h < heads; h++) {
      const row = logits.subarray((i * heads + h) * classes, (i * heads + h + 1) * classes);
      const max = Math.max(...row);
      let sum = 0;
      for (let c = 0; c < classes; c++) sum += Math.exp(row[c] - max);
      for (let c = 0; c < classes; c++) p[c] += Math.exp(row[c] - max) / sum / heads;
    }
    for (let c = 0; c < classes; c++) out[i * classes + c] = Math.log(Math.max(p[c], 1e-30));
  }
  return out;
}

/** Cross-entropy of one row of logits against its label, and whether its argmax is right. */
export function scoreRow(row: Float32Array, label: number): { loss: number; correct: boolean } {
  let best = 0;
  let max = -Infinity;
  for (let c = 0; c < row.length; c++) {
    if (row[c] > max) {
      max = row[c];
      best = c;
    }
  }
  let sum = 0;
  for (let c = 0; c < row.length; c++) sum += Math.exp(row[c] - max);
  return { loss: Math.log(sum) + max - row[label], correct: best === label };
}

/** Mean cross-entropy and accuracy of logits [n, C] against labels. */
export function scoreLogits(logits: Float32Array, labels: ArrayLike<number>, classes: number): EvalResult {
  const n = labels.length;
  let correct = 0;
  let loss = 0;
  for (let i = 0; i < n; i++) {
    const r = scoreRow(logits.subarray(i * classes, (i + 1) * classes), labels[i]);
    loss += r.loss;
    if (r.correct) correct++;
  }
  return { accuracy: n ? correct / n : 0, loss: n ? loss / n : 0, count: n };
}

export async function evaluate(rt: Runtime, model: Model, weights: Float32Array, ds: Dataset, indices?: ArrayLike<number>): Promise<EvalResult> {
  const logits = combineHeads(await predict(rt, model, weights, ds, indices), model.heads, model.classes);
  const labels = indices ? Array.from(indices, (i) => ds.labels[i]) : ds.labels;
  return scoreLogits(logits, labels, model.classes);
}
