// Repairing a merged model's activation statistics. Averaging aligned units shrinks their
// variance ("variance collapse", Jordan et al., REPAIR): with BatchNorm the fix is to
// recompute the running statistics on data; without normalisation, each merged unit's
// pre-activation is rescaled to the mean and spread the source models had there.
import { gatherBatch, inputScaling, type Dataset } from '../data/dataset.js';
import { buildForward, pixelInput, weightInputs } from '../model/graphs.js';
import type { Model } from '../model/model.js';
import { weightFeeds } from '../model/weights-io.js';
import { compileGraph } from '../tensor/compile.js';
import { Graph, type Tensor } from '../tensor/graph.js';
import { encodeModel } from '../tensor/onnx/encode.js';
import { compiledModel, type Runtime } from '../tensor/runtime/pool.js';
import type { GroupMerge, MergePlan } from './plan.js';
import { pairStats } from './stats.js';

export function hasBatchNorm(model: Model): boolean {
  return model.layout.entries.some((e) => e.name.endsWith('.running_mean'));
}

/**
 * Recomputes BatchNorm running statistics on `indices` of `ds`: each batch runs in training
 * mode with momentum 1 (so the statistics are exactly that batch's), and the results are
 * averaged over batches, like PyTorch's reset with momentum=None. Returns new weights.
 */
export async function resetBatchNorm(rt: Runtime, model: Model, weights: Float32Array, ds: Dataset, indices: ArrayLike<number>, batch = 500): Promise<Float32Array> {
  if (!hasBatchNorm(model)) return weights;
  const pixels = inputScaling(ds);
  const target = await rt.target();
  const graphFor = (n: number) => {
    const g = new Graph();
    const x = pixelInput(g, 'input', [n, ...model.input], pixels);
    const fwd = buildForward(model, { graph: g, batch: n, training: true, params: weightInputs(g, model.layout), x, bnMomentum: 1 });
    const outs: Record<string, Tensor> = {};
    for (const [name, t] of fwd.buffers) outs[name] = t;
    return compiledModel(encodeModel(compileGraph(g, outs, { name: 'mergemesh_bn_reset', target })));
  };
  const d = ds.shape[0] * ds.shape[1] * ds.shape[2];
  const out = weights.slice();
  const acc = new Map<string, Float64Array>();
  const full = Math.floor(indices.length / batch);
  const sizes = [...new Array(full).fill(batch), ...(indices.length % batch > 1 ? [indices.length % batch] : [])];
  const graphs = new Map<number, ReturnType<typeof graphFor>>();
  const feeds = weightFeeds(model.layout, weights);
  let start = 0;
  let used = 0;
  for (const n of sizes) {
    let m = graphs.get(n);
    if (!m) graphs.set(n, (m = graphFor(n)));
    const x = new Uint8Array(n * d);
    gatherBatch(ds, indices, start, n, x, new BigInt64Array(n));
    start += n;
    const res = await rt.run(m, { ...feeds, input: { dtype: 'uint8', dims: [n, ...ds.shape], data: x } });
    for (const [name, t] of Object.entries(res.outputs)) {
      const a = acc.get(name) ?? new Float64Array(t.data.length);
      const v = t.data as Float32Array;
      // Weighted by batch size, so a short last batch counts for what it is.
      for (let i = 0; i < v.length; i++) a[i] += v[i] * n;
      acc.set(name, a);
    }
    used += n;
  }
  for (const m of graphs.values()) await rt.release(m);
  if (used === 0) throw new Error('BatchNorm reset needs at least 2 samples');
  for (const [name, a] of acc) {
    const e = model.layout.entry(name);
    for (let i = 0; i < e.size; i++) out[e.offset + i] = a[i] / used;
  }
  return out;
}

interface UnitStats {
  readonly mean: Float64Array;
  readonly std: Float64Array;
}

function unitStats(meanA: Float64Array, sqA: Float64Array): UnitStats {
  return { mean: meanA, std: meanA.map((m, i) => Math.sqrt(Math.max(sqA[i] - m * m, 0))) };
}

/**
 * REPAIR for models without normalisation: layer by layer (each layer is measured after the
 * ones before it are corrected), rescale each merged unit's pre-activation to the mean and
 * standard deviation of the units merged into it, weighted as in the merge: with s the
 * ratio of target to current deviation, W_k ← s·W_k and b_k ← s·(b_k − μ_current) + μ_target.
 * With `means: false` only the deviations are restored (b_k ← s·b_k): the means measured on
 * one agent's non-IID data pull every unit toward that agent's classes, and merges repaired
 * so drift apart (docs/agents.md measures it).
 */
export async function repairActivations(
  rt: Runtime,
  source: Model,
  sourceWeights: ReadonlyArray<Float32Array>,
  merged: Model,
  mergedWeights: Float32Array,
  plan: MergePlan,
  ds: Dataset,
  indices: ArrayLike<number>,
  opts: { readonly means?: boolean } = {},
): Promise<Float32Array> {
  const means = opts.means ?? true;
  const out = mergedWeights.slice();
  const groups = source.spec.groups.filter((g) => plan.has(g.name) && g.taps.length > 0);
  // Each source model's pre-activation statistics (one pass per model, all groups at once).
  const endpoints: Map<string, UnitStats>[] = [];
  for (const w of sourceWeights) {
    const s = await pairStats(rt, source, w, w, ds, indices, { tap: ':pre', groups: groups.map((g) => g.name) });
    endpoints.push(new Map([...s].map(([k, v]) => [k, unitStats(v.meanA, v.sqA)])));
  }
  for (const g of groups) {
    const gm: GroupMerge = plan.get(g.name)!;
    const targetMean = new Float64Array(gm.size);
    const targetStd = new Float64Array(gm.size);
    gm.unmerge.forEach((u, m) => {
      const st = endpoints[m].get(g.name)!;
      u.forEach((k, i) => {
        if (k < 0) return;
        targetMean[k] += gm.weight[m][i] * st.mean[i];
        targetStd[k] += gm.weight[m][i] * st.std[i];
      });
    });
    const now = (await pairStats(rt, merged, out, out, ds, indices, { tap: ':pre', groups: [g.name] })).get(g.name)!;
    const cur = unitStats(now.meanA, now.sqA);
    // The tensors that write this group's pre-activation: a weight's rows and its bias.
    const writers = g.members.filter((m) => m.axis === 0 && !/norm/.test(m.tensor)).map((m) => merged.layout.entry(m.tensor));
    for (const e of writers) {
      const rowLen = e.size / gm.size;
      for (let k = 0; k < gm.size; k++) {
        const scale = cur.std[k] > 1e-8 ? targetStd[k] / cur.std[k] : 1;
        const row = out.subarray(e.offset + k * rowLen, e.offset + (k + 1) * rowLen);
        if (e.shape.length === 1) row[0] = means ? (row[0] - cur.mean[k]) * scale + targetMean[k] : row[0] * scale;
        else for (let j = 0; j < rowLen; j++) row[j] *= scale;
      }
    }
  }
  return out;
}

/**
 * Data-free norm repair of an average: each merged unit's incoming weights (every tensor its
 * group indexes on axis 0, e.g. a weight row and its bias) are rescaled to the mean norm they
 * had in the sources. Averaging units that do not correspond (models of different tasks, or
 * not aligned) shrinks them by up to 1/√n — the variance collapse REPAIR fixes with data;
 * this fixes its first-order part with none, identically on every agent. Normalisation
 * parameters are left alone (a norm layer rescales anyway). Returns new weights.
 */
export function restoreNorms(model: Model, merged: Float32Array, sources: ReadonlyArray<Float32Array>, perms?: ReadonlyArray<ReadonlyMap<string, Int32Array>>, opts: { readonly inPlace?: boolean } = {}): Float32Array {
  // In place when the caller owns `merged` (a fresh merge): the simulator merges every agent
  // every round, and each copy is another half megabyte for the collector.
  const out = opts.inPlace ? merged : merged.slice();
  for (const g of model.spec.groups) {
    const writers = g.members.filter((m) => m.axis === 0 && !/norm|\.bn\d*\./.test(m.tensor)).map((m) => model.layout.entry(m.tensor));
    if (!writers.length) continue;
    // Merged unit u was built from unit perms[m][u] of source m: its target is their mean norm.
    const target = new Float64Array(g.size);
    sources.forEach((w, m) => {
      const norms = unitNorms(w, writers, g.size);
      const p = perms?.[m]?.get(g.name);
      for (let u = 0; u < g.size; u++) target[u] += norms[p ? p[u] : u] / sources.length;
    });
    const now = unitNorms(out, writers, g.size);
    for (let u = 0; u < g.size; u++) {
      if (now[u] <= 1e-12) continue;
      const f = target[u] / now[u];
      for (const e of writers) {
        const rest = e.size / e.shape[0];
        const end = e.offset + (u + 1) * rest;
        for (let k = e.offset + u * rest; k < end; k++) out[k] *= f;
      }
    }
  }
  return out;
}

/** The norm of each unit's rows across the tensors that write the group (axis 0). */
function unitNorms(w: Float32Array, writers: ReadonlyArray<{ offset: number; size: number; shape: ReadonlyArray<number> }>, units: number): Float64Array {
  const sq = new Float64Array(units);
  for (const e of writers) {
    const rest = e.size / e.shape[0];
    for (let u = 0; u < units; u++) {
      // Four partial sums: one running sum is bound by the latency of each add.
      let a0 = 0;
      let a1 = 0;
      let a2 = 0;
      let a3 = 0;
      let k = e.offset + u * rest;
      const end = k + rest;
      for (; k + 3 < end; k += 4) {
        a0 += w[k] * w[k];
        a1 += w[k + 1] * w[k + 1];
        a2 += w[k + 2] * w[k + 2];
        a3 += w[k + 3] * w[k + 3];
      }
      for (; k < end; k++) a0 += w[k] * w[k];
      sq[u] += a0 + a1 + (a2 + a3);
    }
  }
  return sq.map(Math.sqrt);
}
