// The one merge operation. Per unit group, a merge matrix M (model features → merged
// features) and an unmerge matrix U (merged → each model's features) are folded into every
// tensor of the group: axis 0 (what a tensor writes: weight rows, biases, norm parameters and
// statistics) by M, reading axes (weight columns) by U:  W* = Σ_m Mᵐ Wᵐ Uᵐ.
//
// Every method here produces M and U of one shape: each unit of each model reads exactly one
// merged unit (U is one-hot) and contributes to it with a weight (M's entry). Permutation with
// mixing weights, plain averaging, ZipIt!'s within-model merges and PLeaS's partial merges
// are all of this form, so the operation is a weighted scatter in O(|θ|): no dense matrices.
import type { ModelDef } from '../model/def.js';
import type { Model } from '../model/model.js';
import { gatherAxisInto, identityPermutation, invertPermutation, isPermutation } from '../model/permute.js';
import { createScratch } from '../util/scratch.js';

export interface GroupMerge {
  /** Units in the merged feature space. */
  readonly size: number;
  /** Per model: the merged unit each of its units reads (U's one-hot rows), −1 if dropped. */
  readonly unmerge: ReadonlyArray<Int32Array>;
  /** Per model: each unit's weight in the merged unit it joins (M's entries). */
  readonly weight: ReadonlyArray<Float32Array>;
}

/** Group name → its merge; groups left out are averaged unit by unit with the mixing weights. */
export type MergePlan = ReadonlyMap<string, GroupMerge>;

export function checkMixing(mix: ReadonlyArray<number>, models: number): number[] {
  if (mix.length !== models) throw new Error(`merge: ${mix.length} mixing weights for ${models} models`);
  if (mix.some((w) => !(w >= 0) || !Number.isFinite(w))) throw new Error('merge: mixing weights must be finite and ≥ 0');
  const total = mix.reduce((a, b) => a + b, 0);
  if (!(total > 0)) throw new Error('merge: mixing weights sum to 0');
  return mix.map((w) => w / total);
}

/**
 * Model m's unit perm[m][k] becomes merged unit k, with weight mix[m]: alignment by
 * permutation followed by weighted averaging (identity permutations give plain averaging).
 */
export function permutationMerge(perms: ReadonlyArray<Int32Array>, mix: ReadonlyArray<number>): GroupMerge {
  const d = perms[0].length;
  const w = checkMixing(mix, perms.length);
  return {
    size: d,
    unmerge: perms.map((p) => {
      if (p.length !== d) throw new Error('permutationMerge: permutations of different sizes');
      const u = new Int32Array(d).fill(-1);
      p.forEach((unit, k) => (u[unit] = k));
      if (u.some((k) => k < 0)) throw new Error('permutationMerge: not a permutation');
      return u;
    }),
    weight: perms.map((_, m) => new Float32Array(d).fill(w[m])),
  };
}

/**
 * Clusters of (model, unit) pairs become merged units; each member's weight is its model's
 * mixing weight normalised within the cluster (a cluster holding units of one model only, or
 * two units of the same model, averages them).
 */
export function clusterMerge(clusters: ReadonlyArray<ReadonlyArray<readonly [number, number]>>, sizes: ReadonlyArray<number>, mix: ReadonlyArray<number>): GroupMerge {
  const w = checkMixing(mix, sizes.length);
  const unmerge = sizes.map((d) => new Int32Array(d).fill(-1));
  const weight = sizes.map((d) => new Float32Array(d));
  clusters.forEach((members, k) => {
    const total = members.reduce((a, [m]) => a + w[m], 0);
    for (const [m, i] of members) {
      if (unmerge[m][i] >= 0) throw new Error(`clusterMerge: unit ${i} of model ${m} is in two clusters`);
      unmerge[m][i] = k;
      weight[m][i] = total > 0 ? w[m] / total : 1 / members.length;
    }
  });
  return { size: clusters.length, unmerge, weight };
}

/** The identity merge of a group of size d: unit k of every model averages into merged unit k. */
export function identityMerge(d: number, mix: ReadonlyArray<number>): GroupMerge {
  return permutationMerge(mix.map(() => identityPermutation(d)), mix);
}

interface AxisRole {
  readonly group: string;
  readonly repeat: number;
}

/** tensor name → axis → the group (and repeat) indexing it. */
export function axisRoles(model: Model): Map<string, Map<number, AxisRole>> {
  const roles = new Map<string, Map<number, AxisRole>>();
  for (const g of model.spec.groups) {
    for (const m of g.members) {
      const axes = roles.get(m.tensor) ?? new Map<number, AxisRole>();
      if (axes.has(m.axis)) throw new Error(`perm spec: ${m.tensor} axis ${m.axis} is in two groups`);
      axes.set(m.axis, { group: g.name, repeat: m.repeat ?? 1 });
      roles.set(m.tensor, axes);
    }
  }
  return roles;
}

interface Resolved {
  readonly w: number[];
  readonly groups: ReadonlyMap<string, GroupMerge>;
  readonly roles: Map<string, Map<number, AxisRole>>;
}

/** Checks a merge's inputs; every group gets a plan (the identity for those left out). */
function resolve(source: Model, weights: ReadonlyArray<Float32Array>, plan: MergePlan, mix: ReadonlyArray<number>): Resolved {
  const w = checkMixing(mix, weights.length);
  for (const x of weights) if (x.length !== source.layout.totalSize) throw new Error(`merge: weights of ${x.length} values for a model of ${source.layout.totalSize}`);
  const groups = new Map<string, GroupMerge>();
  for (const g of source.spec.groups) {
    const gm = plan.get(g.name) ?? identityMerge(g.size, w);
    if (gm.unmerge.length !== weights.length) throw new Error(`merge: group ${g.name} plans ${gm.unmerge.length} models, got ${weights.length}`);
    gm.unmerge.forEach((u) => {
      if (u.length !== g.size) throw new Error(`merge: group ${g.name} has ${g.size} units, its plan ${u.length}`);
    });
    groups.set(g.name, gm);
  }
  for (const name of plan.keys()) if (!groups.has(name)) throw new Error(`merge: plan names unknown group '${name}'`);
  return { w, groups, roles: axisRoles(source) };
}

/** The merged shape of a tensor (the plan's group sizes on its grouped axes), checked against the target's. */
function mergedShape(e: { name: string; shape: ReadonlyArray<number> }, target: Model, groups: ReadonlyMap<string, GroupMerge>, axes: ReadonlyMap<number, AxisRole> | undefined) {
  const te = target.layout.entry(e.name);
  const tshape = e.shape.map((d, a) => {
    const r = axes?.get(a);
    return r ? groups.get(r.group)!.size * r.repeat : d;
  });
  if (tshape.some((d, a) => d !== te.shape[a])) throw new Error(`merge: ${e.name} merges to [${tshape}] but the target model has [${te.shape}]`);
  return { te, tshape };
}

/**
 * Merges models that share `source`'s layout into `target`'s layout (whose group sizes are
 * the plan's merged sizes). Groups missing from the plan are averaged with `mix`. The result
 * is written to `into` when given (an array the caller reuses), else to a new array.
 */
export function applyMerge(source: Model, target: Model, weights: ReadonlyArray<Float32Array>, plan: MergePlan, mix: ReadonlyArray<number>, into?: Float32Array): Float32Array {
  const { w, groups, roles } = resolve(source, weights, plan, mix);
  if (into && (into.length !== target.layout.totalSize || weights.includes(into))) throw new Error('merge: the output array must fit the target model and not be a source');
  const reads = permutationReads(source, groups, weights.length);
  if (!reads) return scatterAll(source, target, weights, { w, groups, roles }, into);
  // Every model's units are a permutation of the merged ones, with one weight per model: within
  // a shared frame (identity plans) and across frames alike, the simulator does one such merge
  // per agent per round. Each model's tensor is gathered into the merged order and the sum is
  // fused: a third of the scatter's time, and the same bits (same terms, same order, same
  // float32 rounding after each). Every value of the output is written.
  const out = into ?? new Float32Array(target.layout.totalSize);
  for (const e of source.layout.entries) {
    const axes = roles.get(e.name);
    const { te } = mergedShape(e, target, groups, axes);
    const r0 = axes?.get(0);
    const coef = weights.map((_, m) => (r0 ? groups.get(r0.group)!.weight[m][0] : Math.fround(w[m])));
    const src = weights.map((x, m) => inMergedOrder(x.subarray(e.offset, e.offset + e.size), e.shape, axes, reads[m], m));
    weightedSum(src, coef, out.subarray(te.offset, te.offset + te.size));
  }
  return out;
}

/**
 * The general merge (any one-hot unmerge, per-unit weights, dropped units, another width) as
 * a weighted scatter, whatever the plan. applyMerge takes it only where its fast path does
 * not apply; exported so tests can check that path against it bit for bit.
 */
export function scatterMerge(source: Model, target: Model, weights: ReadonlyArray<Float32Array>, plan: MergePlan, mix: ReadonlyArray<number>): Float32Array {
  return scatterAll(source, target, weights, resolve(source, weights, plan, mix));
}

function scatterAll(source: Model, target: Model, weights: ReadonlyArray<Float32Array>, { w, groups, roles }: Resolved, into?: Float32Array): Float32Array {
  const out = into ? into.fill(0) : new Float32Array(target.layout.totalSize);
  for (const e of source.layout.entries) {
    const axes = roles.get(e.name) ?? new Map<number, AxisRole>();
    const { te, tshape } = mergedShape(e, target, groups, axes);
    const tstrides = strides(tshape);
    for (let m = 0; m < weights.length; m++) {
      // Per axis: source position → target offset contribution (−1 if the unit is dropped).
      const contrib = e.shape.map((len, a) => {
        const c = new Int32Array(len);
        const r = axes.get(a);
        for (let p = 0; p < len; p++) {
          if (!r) {
            c[p] = p * tstrides[a];
            continue;
          }
          const k = groups.get(r.group)!.unmerge[m][Math.floor(p / r.repeat)];
          c[p] = k < 0 ? -1 : (k * r.repeat + (p % r.repeat)) * tstrides[a];
        }
        return c;
      });
      // Axis 0 carries M's weight; a tensor whose axis 0 is in no group takes the mixing weight.
      const r0 = axes.get(0);
      const coef = new Float32Array(e.shape[0]);
      for (let p = 0; p < e.shape[0]; p++) coef[p] = r0 ? groups.get(r0.group)!.weight[m][Math.floor(p / r0.repeat)] : w[m];
      scatterTensor(weights[m].subarray(e.offset, e.offset + e.size), e.shape, contrib, coef, out.subarray(te.offset, te.offset + te.size));
    }
  }
  return out;
}

/**
 * Per model, per group: the model's unit each merged unit reads (null where that is the
 * identity), when every group maps each model's units one to one onto the merged units with
 * one weight per model; undefined for any other plan.
 */
function permutationReads(source: Model, groups: ReadonlyMap<string, GroupMerge>, models: number): Array<Map<string, Int32Array | null>> | undefined {
  const reads = Array.from({ length: models }, () => new Map<string, Int32Array | null>());
  for (const g of source.spec.groups) {
    const gm = groups.get(g.name)!;
    if (gm.size !== g.size) return undefined;
    for (let m = 0; m < models; m++) {
      const u = gm.unmerge[m];
      const wt = gm.weight[m];
      if (wt.some((x) => x !== wt[0]) || !isPermutation(u, g.size)) return undefined;
      reads[m].set(g.name, u.every((k, i) => k === i) ? null : invertPermutation(u));
    }
  }
  return reads;
}

// Per model, two scratch arrays per tensor size: a gathered tensor lives until the next tensor's sum.
const scratchFor = createScratch();

/** Model m's tensor with every grouped axis gathered into the merged order (the tensor itself if none moves). */
function inMergedOrder(t: Float32Array, shape: ReadonlyArray<number>, axes: ReadonlyMap<number, AxisRole> | undefined, reads: ReadonlyMap<string, Int32Array | null>, m: number): Float32Array {
  let cur = t;
  let flip = 0;
  for (const [axis, r] of axes ?? []) {
    const perm = reads.get(r.group);
    if (!perm) continue;
    const into = scratchFor(t.length, 2 * m + flip);
    flip ^= 1;
    gatherAxisInto(cur, into, shape, axis, perm, r.repeat);
    cur = into;
  }
  return cur;
}

/**
 * out = Σ_m coef[m]·src[m], rounded to float32 after each term in model order, as the scatter
 * accumulates into its float32 output (so either path gives the same bits).
 */
function weightedSum(src: ReadonlyArray<Float32Array>, coef: ReadonlyArray<number>, out: Float32Array): void {
  const n = out.length;
  const [c0, c1, c2] = coef;
  const [x0, x1, x2] = src;
  // `0 +` as the scatter's first add into a zeroed output: a −0 product becomes +0 there too.
  if (src.length === 1) for (let i = 0; i < n; i++) out[i] = 0 + c0 * x0[i];
  else if (src.length === 2) for (let i = 0; i < n; i++) out[i] = Math.fround(0 + c0 * x0[i]) + c1 * x1[i];
  else {
    for (let i = 0; i < n; i++) out[i] = Math.fround(Math.fround(0 + c0 * x0[i]) + c1 * x1[i]) + c2 * x2[i];
    for (let m = 3; m < src.length; m++) {
      const c = coef[m];
      const x = src[m];
      for (let i = 0; i < n; i++) out[i] += c * x[i];
    }
  }
}

function strides(shape: ReadonlyArray<number>): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let a = shape.length - 1; a >= 0; a--) {
    s[a] = acc;
    acc *= shape[a];
  }
  return s;
}

/** out[Σ contrib[a][i_a]] += coef[i_0] · src[i] over all source indices i with no dropped axis. */
function scatterTensor(src: Float32Array, shape: ReadonlyArray<number>, contrib: Int32Array[], coef: Float32Array, out: Float32Array): void {
  const rank = shape.length;
  const inner = shape[rank - 1];
  const last = contrib[rank - 1];
  if (rank === 1) {
    for (let j = 0; j < inner; j++) if (last[j] >= 0) out[last[j]] += coef[j] * src[j];
    return;
  }
  // Most rows' last axis is in no group (an MLP layer's inputs): a contiguous run then, a third
  // faster than going through the index (the simulator merges every agent every round).
  let contiguous = true;
  for (let j = 0; j < inner && contiguous; j++) contiguous = last[j] === j;
  const rows = src.length / inner;
  const idx = new Array<number>(rank).fill(0);
  for (let row = 0; row < rows; row++) {
    // Decompose the row index into the leading axes.
    let rem = row;
    let base = 0;
    let dropped = false;
    for (let a = rank - 2; a >= 0; a--) {
      idx[a] = rem % shape[a];
      rem = Math.floor(rem / shape[a]);
      const c = contrib[a][idx[a]];
      if (c < 0) dropped = true;
      base += c;
    }
    if (dropped) continue;
    const k = coef[idx[0]];
    const off = row * inner;
    if (contiguous) for (let j = 0; j < inner; j++) out[base + j] += k * src[off + j];
    else for (let j = 0; j < inner; j++) if (last[j] >= 0) out[base + last[j]] += k * src[off + j];
  }
}

/** For a permutation plan: model m's unit placed at each merged unit, per group (to align its weights). */
export function framePermutations(plan: MergePlan, m: number): Map<string, Int32Array> {
  const out = new Map<string, Int32Array>();
  for (const [g, gm] of plan) {
    if (gm.size !== gm.unmerge[m].length) throw new Error(`group ${g} is not a permutation merge`);
    const p = new Int32Array(gm.size).fill(-1);
    gm.unmerge[m].forEach((k, i) => k >= 0 && (p[k] = i));
    if (p.some((v) => v < 0)) throw new Error(`group ${g} is not a permutation merge`);
    out.set(g, p);
  }
  return out;
}
