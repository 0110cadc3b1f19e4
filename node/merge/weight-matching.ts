// Git Re-Basin weight matching: permutation coordinate descent. Visit the unit groups in a
// seeded random order; for each, with every other group's permutation fixed, the best
// permutation is one assignment on C = Σ_members A_(axis) · B'_(axis)ᵀ, where B' is B with the
// other groups' current permutations applied. Repeat sweeps until one brings no improvement.
// The products are GEMMs on ORT; the assignments run in JS.
import type { Model } from '../model/model.js';
import { gatherAxis } from '../model/permute.js';
import { linearAssignment } from '../tensor/linalg/lap.js';
import type { Runtime } from '../tensor/runtime/pool.js';
import { createRng } from '../util/rng.js';
import { relativeGain, type GroupAlignment } from './align.js';
import { gemmABt } from './gemm.js';
import { axisRoles } from './plan.js';

export interface WeightMatchOptions {
  readonly seed?: number;
  readonly maxSweeps?: number;
  /** Keep the identity for groups whose relative gain is below this (default 0). */
  readonly margin?: number;
}

export interface WeightMatchResult {
  readonly groups: Map<string, GroupAlignment>;
  readonly sweeps: number;
}

/** The tensor with `axis` moved first and read as [units, rest] (a repeat folds into rest). */
function unitsFirst(data: Float32Array, shape: ReadonlyArray<number>, axis: number, units: number, out: Float32Array, col0: number, width: number): void {
  const outer = shape.slice(0, axis).reduce((a, b) => a * b, 1);
  const len = shape[axis];
  const inner = shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  const repeat = len / units;
  const rest = (data.length / units) | 0;
  for (let o = 0; o < outer; o++) {
    for (let p = 0; p < len; p++) {
      const u = Math.floor(p / repeat);
      const t = p % repeat;
      const src = (o * len + p) * inner;
      const dst = u * width + col0 + (o * repeat + t) * inner;
      out.set(data.subarray(src, src + inner), dst);
    }
  }
  if (rest * units !== data.length) throw new Error('weight matching: axis does not divide the tensor');
}

export async function matchWeights(rt: Runtime, model: Model, a: Float32Array, b: Float32Array, opts: WeightMatchOptions = {}): Promise<WeightMatchResult> {
  const roles = axisRoles(model);
  const groups = model.spec.groups;
  const perms = new Map<string, Int32Array>(groups.map((g) => [g.name, Int32Array.from({ length: g.size }, (_, i) => i)]));
  const widths = new Map(groups.map((g) => [g.name, g.members.reduce((acc, m) => acc + model.layout.entry(m.tensor).size / g.size, 0)]));

  // A's side never changes: build each group's [units × Σrest] matrix once.
  const aMats = new Map<string, Float32Array>();
  for (const g of groups) {
    const width = widths.get(g.name)!;
    const mat = new Float32Array(g.size * width);
    let col = 0;
    for (const m of g.members) {
      const e = model.layout.entry(m.tensor);
      unitsFirst(a.subarray(e.offset, e.offset + e.size), e.shape, m.axis, g.size, mat, col, width);
      col += e.size / g.size;
    }
    aMats.set(g.name, mat);
  }

  /** B's matrix for group g with every other group's current permutation applied. */
  const bMat = (gname: string): Float32Array => {
    const g = groups.find((q) => q.name === gname)!;
    const width = widths.get(gname)!;
    const mat = new Float32Array(g.size * width);
    let col = 0;
    for (const m of g.members) {
      const e = model.layout.entry(m.tensor);
      const t = b.slice(e.offset, e.offset + e.size);
      for (const [axis, r] of roles.get(m.tensor) ?? []) {
        if (axis === m.axis) continue;
        gatherAxis(t, e.shape, axis, perms.get(r.group)!, r.repeat);
      }
      unitsFirst(t, e.shape, m.axis, g.size, mat, col, width);
      col += e.size / g.size;
    }
    return mat;
  };

  const cost = async (gname: string): Promise<Float32Array> => {
    const g = groups.find((q) => q.name === gname)!;
    return gemmABt(rt, aMats.get(gname)!, bMat(gname), g.size, g.size, widths.get(gname)!);
  };
  const total = (c: Float32Array, p: Int32Array) => p.reduce((acc, j, k) => acc + c[k * p.length + j], 0);

  const rng = createRng(opts.seed ?? 0);
  const maxSweeps = opts.maxSweeps ?? 100;
  let sweeps = 0;
  for (; sweeps < maxSweeps; sweeps++) {
    let progress = false;
    const order = groups.map((g) => g.name);
    rng.shuffle(order);
    for (const gname of order) {
      const c = await cost(gname);
      const n = perms.get(gname)!.length;
      const { rowToCol } = linearAssignment(c, n, n, { maximize: true });
      const before = total(c, perms.get(gname)!);
      const after = total(c, rowToCol);
      if (after > before + 1e-12 * Math.max(1, Math.abs(before))) {
        perms.set(gname, rowToCol);
        progress = true;
      }
    }
    if (!progress) {
      sweeps++;
      break;
    }
  }

  // Report each group against the identity, the other groups at their final permutations.
  const out = new Map<string, GroupAlignment>();
  for (const g of groups) {
    const c = await cost(g.name);
    const p = perms.get(g.name)!;
    const identity = Int32Array.from({ length: g.size }, (_, i) => i);
    const score = total(c, p);
    const identityScore = total(c, identity);
    const gain = relativeGain(score, identityScore);
    const gated = gain < (opts.margin ?? 0);
    out.set(g.name, { group: g.name, perm: gated ? identity : p, score, identityScore, gain, gated });
  }
  return { groups: out, sweeps };
}
