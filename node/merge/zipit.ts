// ZipIt! (Stoica, Bolya et al., ICLR'24): merge features within and across models. Greedily
// pair the most correlated features of the joint feature set until one model's width is
// left; a merged feature's similarities become min(row, col)·α, and each model may merge at
// most (d/2)·β pairs of its own features (β = 0: permutation only). Partial zipping merges
// only the first layers and keeps one head per model for the rest.
import { cnnLayers } from '../model/cnn.js';
import type { CnnDef, MlpDef, MultiHeadDef } from '../model/def.js';
import { mlpLayers } from '../model/mlp.js';
import { createModel, type Model } from '../model/model.js';
import { applyMerge, clusterMerge, type GroupMerge, type MergePlan } from './plan.js';
import { resizedDef } from './resize.js';
import type { FeatureStats } from './stats.js';

export interface ZipOptions {
  /** Re-merge damping of merged features (ZipIt's best setting 1e-4). */
  readonly alpha?: number;
  /** Within-model merge budget as a fraction of d/2 (best setting 0.075). */
  readonly beta?: number;
}

/** The joint (2d)² correlation of A's and B's features from their moments. */
export function jointCorrelation(s: FeatureStats): Float64Array {
  if (!s.selfA || !s.selfB) throw new Error('zipit: needs within-model statistics (stats with self)');
  const d = s.size;
  const n = 2 * d;
  const mean = Float64Array.from({ length: n }, (_, f) => (f < d ? s.meanA[f] : s.meanB[f - d]));
  const sd = Float64Array.from({ length: n }, (_, f) => Math.sqrt(Math.max((f < d ? s.sqA[f] : s.sqB[f - d]) - mean[f] ** 2, 0)));
  const c = new Float64Array(n * n);
  for (let x = 0; x < n; x++) {
    for (let y = 0; y < n; y++) {
      let e: number;
      if (x < d && y < d) e = s.selfA[x * d + y];
      else if (x >= d && y >= d) e = s.selfB[(x - d) * d + (y - d)];
      else if (x < d) e = s.cross[x * d + (y - d)];
      else e = s.cross[y * d + (x - d)];
      const den = sd[x] * sd[y];
      c[x * n + y] = den > 1e-12 ? (e - mean[x] * mean[y]) / den : 0;
    }
  }
  return c;
}

export interface ZipMatch {
  /** d clusters of (model, unit) pairs. */
  readonly clusters: Array<Array<[number, number]>>;
  /** Merges between features of the same origin model, per model (bounded by the budget). */
  readonly withinMerges: [number, number];
  readonly budget: number;
}

/** Greedy zip matching of two models' features. */
export function zipMatch(s: FeatureStats, opts: ZipOptions = {}): ZipMatch {
  const alpha = opts.alpha ?? 1e-4;
  const beta = opts.beta ?? 0.075;
  const d = s.size;
  const n = 2 * d;
  const sim = jointCorrelation(s);
  const origin = Int32Array.from({ length: n }, (_, f) => (f < d ? 0 : 1));
  const members: Array<Array<[number, number]>> = Array.from({ length: n }, (_, f) => [[origin[f], f % d]]);
  const alive = new Uint8Array(n).fill(1);
  for (let f = 0; f < n; f++) sim[f * n + f] = -Infinity;
  const allowed = Math.floor(Math.floor(d / 2) * beta);
  const budget = [allowed, allowed];
  const withinMerges: [number, number] = [0, 0];
  const blockWithin = (m: number) => {
    for (let x = 0; x < n; x++) {
      if (!alive[x] || origin[x] !== m) continue;
      for (let y = 0; y < n; y++) if (alive[y] && origin[y] === m) sim[x * n + y] = -Infinity;
    }
  };
  for (const m of [0, 1]) if (budget[m] <= 0) blockWithin(m);

  // Each row's best partner, refreshed only for rows a merge touches.
  const best = new Float64Array(n);
  const arg = new Int32Array(n);
  const refresh = (x: number) => {
    let b = -Infinity;
    let a = -1;
    const base = x * n;
    for (let y = 0; y < n; y++) {
      if (!alive[y]) continue;
      const v = sim[base + y];
      if (v > b) {
        b = v;
        a = y;
      }
    }
    best[x] = b;
    arg[x] = a;
  };
  for (let x = 0; x < n; x++) refresh(x);

  for (let merges = 0; merges < d; merges++) {
    let r = -1;
    let top = -Infinity;
    for (let x = 0; x < n; x++) {
      if (alive[x] && best[x] > top) {
        top = best[x];
        r = x;
      }
    }
    if (r < 0) throw new Error('zipit: ran out of mergeable features (budget too small?)');
    let c = arg[r];
    if (c < r) [r, c] = [c, r];
    if (origin[r] === origin[c]) {
      withinMerges[origin[r]]++;
      budget[origin[r]]--;
      if (budget[origin[r]] <= 0) {
        blockWithin(origin[r]);
        // Cached best partners may now point at blocked pairs.
        for (let x = 0; x < n; x++) if (alive[x]) refresh(x);
      }
    }
    members[r].push(...members[c]);
    alive[c] = 0;
    for (let y = 0; y < n; y++) {
      if (!alive[y] || y === r) continue;
      const low = Math.min(sim[r * n + y], sim[c * n + y]);
      // α ≤ 0: a merged feature never merges again with features of either origin model.
      const nv = alpha > 0 ? low * alpha : origin[y] === origin[r] || origin[y] === origin[c] ? -Infinity : low;
      sim[r * n + y] = nv;
      sim[y * n + r] = nv;
    }
    refresh(r);
    for (let y = 0; y < n; y++) {
      if (!alive[y] || y === r) continue;
      if (arg[y] === r || arg[y] === c) refresh(y);
      else if (sim[y * n + r] > best[y]) {
        best[y] = sim[y * n + r];
        arg[y] = r;
      }
    }
  }
  const clusters: Array<Array<[number, number]>> = [];
  for (let f = 0; f < n; f++) if (alive[f]) clusters.push(members[f]);
  return { clusters, withinMerges, budget: allowed };
}

/** A zip plan for every group whose statistics are given (two models, sizes d). */
export function zipPlan(stats: ReadonlyMap<string, FeatureStats>, mix: ReadonlyArray<number>, opts: ZipOptions = {}): Map<string, GroupMerge> {
  const plan = new Map<string, GroupMerge>();
  for (const [g, s] of stats) plan.set(g, clusterMerge(zipMatch(s, opts).clusters, [s.size, s.size], mix));
  return plan;
}

/** Layers of a sequential definition (partial merges need the layer order). */
export function sequentialLayers(def: MlpDef | CnnDef) {
  return def.kind === 'mlp' ? mlpLayers(def) : cnnLayers(def);
}

/**
 * Merges the first `trunk` layers with `plan` (which must cover their groups) and keeps the
 * remaining layers of every model as its own head, reading the merged features through its
 * own unmerge. The result is a multi-head model whose output is the heads' logits side by side.
 */
export function partialMerge(
  source: Model,
  weights: ReadonlyArray<Float32Array>,
  plan: MergePlan,
  trunk: number,
  mix: ReadonlyArray<number>,
): { model: Model; weights: Float32Array } {
  const def = source.def;
  if (def.kind !== 'mlp' && def.kind !== 'cnn') throw new Error('partial merging needs an mlp or cnn (a sequential model)');
  const layers = sequentialLayers(def);
  if (!Number.isInteger(trunk) || trunk < 1 || trunk >= layers.length) throw new Error(`--zip-until must be in 1..${layers.length - 1} for this model (its layers: ${layers.map((l) => l.name).join(', ')})`);
  const trunkGroups = layers.slice(0, trunk).map((l) => l.group!);
  for (const g of trunkGroups) if (!plan.has(g)) throw new Error(`partial merge: no plan for trunk group '${g}'`);
  const trunkPlan = new Map([...plan].filter(([g]) => trunkGroups.includes(g)));
  const sizes = new Map(trunkGroups.map((g) => [g, trunkPlan.get(g)!.size]));
  const resized = createModel(resizedDef(def, sizes));
  const merged = applyMerge(source, resized, weights, trunkPlan, mix);
  const mhDef: MultiHeadDef = { kind: 'multihead', base: def, trunk, widths: trunkGroups.map((g) => sizes.get(g)!), heads: weights.length };
  const out = createModel(mhDef);
  const result = new Float32Array(out.layout.totalSize);
  const trunkNames = new Set(layers.slice(0, trunk).flatMap((l) => [`${l.name}.weight`, `${l.name}.bias`]));
  for (const name of trunkNames) {
    const from = resized.layout.entry(name);
    result.set(merged.subarray(from.offset, from.offset + from.size), out.layout.entry(name).offset);
  }
  weights.forEach((w, m) => {
    // Model m alone through its own unmerge: its head reads the merged trunk features.
    const own = new Map([...trunkPlan].map(([g, gm]) => [g, { size: gm.size, unmerge: [gm.unmerge[m]], weight: [new Float32Array(gm.unmerge[m].length).fill(1)] }]));
    const mine = applyMerge(source, resized, [w], own, [1]);
    for (const l of layers.slice(trunk)) {
      for (const t of [`${l.name}.weight`, `${l.name}.bias`]) {
        const from = resized.layout.entry(t);
        result.set(mine.subarray(from.offset, from.offset + from.size), out.layout.entry(`heads.${m}.${t}`).offset);
      }
    }
  });
  return { model: out, weights: result };
}
