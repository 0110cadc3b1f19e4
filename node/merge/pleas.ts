// PLeaS (Nasery, Hayase, Koh, Oh; CVPR'25): merge the best-matched units of two models and
// keep the worst-matched ones separate (widening each group by a ratio), then refit each
// fully connected layer by least squares so the merged model reproduces the permuted
// ensemble's features, layer by layer. The refit is the closed form of the normal equations;
// a row of an A-only unit never reads B-only units (and vice versa).
import { gatherBatch, inputScaling, type Dataset } from '../data/dataset.js';
import { buildForward, pixelInput, weightInputs } from '../model/graphs.js';
import { createModel, type Model } from '../model/model.js';
import { weightFeeds } from '../model/weights-io.js';
import type { Layer } from '../model/sequential.js';
import { compileGraph } from '../tensor/compile.js';
import type { HostTensor } from '../tensor/host.js';
import { Graph, type Tensor } from '../tensor/graph.js';
import { choleskySolve } from '../tensor/linalg/cholesky.js';
import { encodeModel } from '../tensor/onnx/encode.js';
import { add, flatten, matmul, mul, reduceSum } from '../tensor/ops/index.js';
import { compiledModel, type Runtime } from '../tensor/runtime/pool.js';
import { DYN } from '../tensor/shape.js';
import { alignGroup, scoreMatrix, type GroupAlignment, type MatchScore } from './align.js';
import { applyMerge, checkMixing, clusterMerge, type GroupMerge } from './plan.js';
import { resizedDef } from './resize.js';
import { pairStats } from './stats.js';
import { sequentialLayers } from './zipit.js';

export interface PleasOptions {
  /**
   * Merged width over original width, in [1, 2] (1 merges every unit, 2 keeps all apart):
   * one ratio for every group, or one per group name (unnamed groups: 1.25).
   */
  readonly widthRatio: number | ReadonlyMap<string, number>;
  readonly score?: MatchScore;
  /** Refit the fully connected layers by least squares (default true). */
  readonly refit?: boolean;
  /** Ridge added to the normal equations, relative to their mean diagonal (default 1e-4). */
  readonly ridge?: number;
}

export interface PleasResult {
  readonly model: Model;
  readonly weights: Float32Array;
  readonly plan: Map<string, GroupMerge>;
  readonly alignments: Map<string, GroupAlignment>;
  /** Layers refitted by least squares. */
  readonly refitted: string[];
}

/** Clusters: the best-matched pairs merged, then A's and B's remaining units on their own. */
export function partialClusters(perm: Int32Array, score: Float64Array, separate: number): Array<Array<[number, number]>> {
  const d = perm.length;
  const order = Array.from({ length: d }, (_, k) => k).sort((x, y) => score[y * d + perm[y]] - score[x * d + perm[x]]);
  const merged = order.slice(0, d - separate);
  const apart = order.slice(d - separate);
  return [
    ...merged.map((k): Array<[number, number]> => [[0, k], [1, perm[k]]]),
    ...apart.map((k): Array<[number, number]> => [[0, k]]),
    ...apart.map((k): Array<[number, number]> => [[1, perm[k]]]),
  ];
}

export async function pleasMerge(
  rt: Runtime,
  source: Model,
  weights: readonly [Float32Array, Float32Array],
  mixIn: ReadonlyArray<number>,
  ds: Dataset,
  indices: ArrayLike<number>,
  opts: PleasOptions,
): Promise<PleasResult> {
  const ratioOf = (g: string) => (typeof opts.widthRatio === 'number' ? opts.widthRatio : (opts.widthRatio.get(g) ?? 1.25));
  const groupNames = new Set(source.spec.groups.map((g) => g.name));
  if (typeof opts.widthRatio !== 'number') {
    for (const g of opts.widthRatio.keys()) if (!groupNames.has(g)) throw new Error(`PLeaS: no unit group '${g}' (groups: ${[...groupNames].join(', ')})`);
  }
  for (const g of groupNames) {
    const r = ratioOf(g);
    if (!(r >= 1 && r <= 2)) throw new Error(`PLeaS: width ratios must be in [1, 2], got ${r} for ${g}`);
  }
  if (source.def.kind !== 'mlp' && source.def.kind !== 'cnn') throw new Error('PLeaS widens unit groups, which ResNet-20 definitions cannot express; use an mlp or cnn');
  const mix = checkMixing(mixIn, 2);
  const stats = await pairStats(rt, source, weights[0], weights[1], ds, indices);
  const plan = new Map<string, GroupMerge>();
  const alignments = new Map<string, GroupAlignment>();
  for (const [g, s] of stats) {
    const score = scoreMatrix(s, opts.score ?? 'distance');
    const al = alignGroup(g, score, s.size);
    alignments.set(g, al);
    plan.set(g, clusterMerge(partialClusters(al.perm, score, Math.round((ratioOf(g) - 1) * s.size)), [s.size, s.size], mix));
  }
  const merged = createModel(resizedDef(source.def, new Map([...plan].map(([g, gm]) => [g, gm.size]))));
  let out = applyMerge(source, merged, weights, plan, mix);
  const refitted: string[] = [];
  if (opts.refit ?? true) out = await refitLinear(rt, source, weights, merged, out, plan, mix, ds, indices, opts.ridge ?? 1e-4, refitted);
  return { model: merged, weights: out, plan, alignments, refitted };
}

/** Which models contribute to each merged unit of a group (bit m set for model m). */
function modelSets(gm: GroupMerge): Uint8Array {
  const sets = new Uint8Array(gm.size);
  gm.unmerge.forEach((u, m) => u.forEach((k) => k >= 0 && (sets[k] |= 1 << m)));
  return sets;
}

/** Mᵀ of one model for a group as a dense [d_m × d*] matrix (small: two layer widths). */
function mergeT(gm: GroupMerge, m: number): Float32Array {
  const d = gm.unmerge[m].length;
  const t = new Float32Array(d * gm.size);
  gm.unmerge[m].forEach((k, i) => k >= 0 && (t[i * gm.size + k] = gm.weight[m][i]));
  return t;
}

interface RefitLayer {
  readonly layer: Layer;
  readonly inGroup?: string;
  readonly outGroup?: string;
}

async function refitLinear(
  rt: Runtime,
  source: Model,
  weights: readonly [Float32Array, Float32Array],
  merged: Model,
  mergedWeights: Float32Array,
  plan: Map<string, GroupMerge>,
  mix: ReadonlyArray<number>,
  ds: Dataset,
  indices: ArrayLike<number>,
  ridge: number,
  refitted: string[],
): Promise<Float32Array> {
  const def = source.def as Parameters<typeof sequentialLayers>[0];
  const layers = sequentialLayers(def);
  // Fully connected layers reading unrepeated features: the image (an MLP's first layer) or
  // a fully connected layer's outputs. (Flattened conv maps and convolutions keep the
  // partial-permutation merge.)
  const targets: RefitLayer[] = [];
  layers.forEach((l, i) => {
    if (l.kind !== 'linear') return;
    const prev = layers[i - 1];
    if (i === 0 || (prev && prev.kind === 'linear')) targets.push({ layer: l, inGroup: prev?.group, outGroup: l.group });
  });
  if (!targets.length) return mergedWeights;

  const pixels = inputScaling(ds);
  const g = new Graph();
  const x = pixelInput(g, 'input', [DYN, ...source.input], pixels);
  const fa = buildForward(source, { graph: g, batch: DYN, training: false, params: weightInputs(g, source.layout, 'a:'), x });
  const fb = buildForward(source, { graph: g, batch: DYN, training: false, params: weightInputs(g, source.layout, 'b:'), x });
  const outputs: Record<string, Tensor> = {};
  // Dense Mᵀ matrices enter as inputs: f* = Σ_m x_m·Mᵐᵀ maps both models into the merged space.
  const mats: Record<string, HostTensor> = {};
  const project = (ta: Tensor, tb: Tensor, group: string | undefined, key: string): Tensor => {
    if (!group) return add(mul(ta, mix[0]), mul(tb, mix[1]));
    const gm = plan.get(group)!;
    const [ma, mb] = [ta, tb].map((t, m) => {
      const dims = [t.shape[1], gm.size];
      mats[`${key}${m}`] = { dtype: 'float32', dims, data: mergeT(gm, m) };
      return g.input(`${key}${m}`, dims);
    });
    return add(matmul(ta, ma), matmul(tb, mb));
  };
  for (const t of targets) {
    const name = t.layer.name;
    const f = t.inGroup ? project(fa.taps.get(`${t.inGroup}:out`)!, fb.taps.get(`${t.inGroup}:out`)!, t.inGroup, `Min:${name}:`) : flatten(x, 1);
    const ya = t.outGroup ? fa.taps.get(`${t.outGroup}:pre`)! : fa.logits;
    const yb = t.outGroup ? fb.taps.get(`${t.outGroup}:pre`)! : fb.logits;
    const y = project(ya, yb, t.outGroup, `Mout:${name}:`);
    outputs[`${name}/gram`] = matmul(f, f, { transA: true });
    outputs[`${name}/sumF`] = reduceSum(f, [0]);
    outputs[`${name}/cross`] = matmul(y, f, { transA: true });
    outputs[`${name}/sumY`] = reduceSum(y, [0]);
  }
  const compiled = compiledModel(encodeModel(compileGraph(g, outputs, { name: 'mergemesh_pleas_ls', target: await rt.target() })));
  const feeds = { ...weightFeeds(source.layout, weights[0], 'a:'), ...weightFeeds(source.layout, weights[1], 'b:'), ...mats };
  const sums = new Map<string, Float64Array>();
  const d = ds.shape[0] * ds.shape[1] * ds.shape[2];
  const batch = 500;
  for (let start = 0; start < indices.length; start += batch) {
    const n = Math.min(batch, indices.length - start);
    const xb = new Uint8Array(n * d);
    gatherBatch(ds, indices, start, n, xb, new BigInt64Array(n));
    const res = await rt.run(compiled, { ...feeds, input: { dtype: 'uint8', dims: [n, ...ds.shape], data: xb } });
    for (const [k, t] of Object.entries(res.outputs)) {
      const v = t.data as Float32Array;
      const acc = sums.get(k) ?? new Float64Array(v.length);
      for (let i = 0; i < v.length; i++) acc[i] += v[i];
      sums.set(k, acc);
    }
  }
  await rt.release(compiled);

  const out = mergedWeights.slice();
  const count = indices.length;
  for (const t of targets) {
    const name = t.layer.name;
    const wEntry = merged.layout.entry(`${name}.weight`);
    const bEntry = merged.layout.entry(`${name}.bias`);
    const [dOut, dIn] = wEntry.shape;
    const n = dIn + 1;
    // Normal equations of [W b] with the bias as a constant input.
    const gram = new Float64Array(n * n);
    const gs = sums.get(`${name}/gram`)!;
    const sf = sums.get(`${name}/sumF`)!;
    for (let i = 0; i < dIn; i++) {
      for (let j = 0; j < dIn; j++) gram[i * n + j] = gs[i * dIn + j] / count;
      gram[i * n + dIn] = gram[dIn * n + i] = sf[i] / count;
    }
    gram[dIn * n + dIn] = 1;
    const cs = sums.get(`${name}/cross`)!;
    const sy = sums.get(`${name}/sumY`)!;
    const inSets = t.inGroup ? modelSets(plan.get(t.inGroup)!) : new Uint8Array(dIn).fill(0xff);
    const outSets = t.outGroup ? modelSets(plan.get(t.outGroup)!) : new Uint8Array(dOut).fill(0xff);
    let diag = 0;
    for (let i = 0; i < n; i++) diag += gram[i * n + i];
    const lambda = (ridge * diag) / n;
    // One solve per kind of output row (merged, A-only, B-only) over the inputs it may read.
    for (const set of new Set(outSets)) {
      const rows = [...outSets.keys()].filter((k) => outSets[k] === set);
      const cols = [...inSets.keys()].filter((j) => (inSets[j] & set) !== 0);
      cols.push(dIn);
      const m = cols.length;
      const sub = new Float64Array(m * m);
      for (let i = 0; i < m; i++) for (let j = 0; j < m; j++) sub[i * m + j] = gram[cols[i] * n + cols[j]] + (i === j ? lambda : 0);
      // Right-hand sides: E[f yᵀ] restricted to the allowed inputs, one column per output row.
      const rhs = new Float64Array(m * rows.length);
      rows.forEach((r, c) => {
        for (let i = 0; i < m; i++) rhs[i * rows.length + c] = cols[i] === dIn ? sy[r] / count : cs[r * dIn + cols[i]] / count;
      });
      const sol = choleskySolve(sub, m, rhs, rows.length);
      rows.forEach((r, c) => {
        const row = out.subarray(wEntry.offset + r * dIn, wEntry.offset + (r + 1) * dIn);
        row.fill(0);
        for (let i = 0; i < m - 1; i++) row[cols[i]] = sol[i * rows.length + c];
        out[bEntry.offset + r] = sol[(m - 1) * rows.length + c];
      });
    }
    refitted.push(name);
  }
  return out;
}
