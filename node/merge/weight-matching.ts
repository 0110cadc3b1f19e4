// Git Re-Basin weight matching: permutation coordinate descent. Visit the unit groups in a
// seeded random order; for each, with every other group's permutation fixed, the best
// permutation is one assignment on C = Σ_members A_(axis) · B'_(axis)ᵀ, where B' is B with the
// other groups' current permutations applied. Repeat sweeps until one brings no improvement.
// The products are GEMMs on ORT; the assignments run in JS.
import type { Model } from '../model/model.js';
import type { PermGroup, PermMember } from '../model/permspec.js';
import { gatherAxis, gatherAxisInto, identityPermutation, identityPermutations } from '../model/permute.js';
import { linearAssignment } from '../tensor/linalg/lap.js';
import type { Runtime } from '../tensor/runtime/pool.js';
import { createRng } from '../util/rng.js';
import { createScratch } from '../util/scratch.js';
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
  if (inner === 1 && repeat === 1) {
    // A reading axis last (a weight's input axis): a plain transpose, element by element,
    // since a subarray per element costs more than the copy.
    for (let o = 0; o < outer; o++) {
      const src = o * len;
      for (let p = 0; p < len; p++) out[p * width + col0 + o] = data[src + p];
    }
    if (rest * units !== data.length) throw new Error('weight matching: axis does not divide the tensor');
    return;
  }
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

/**
 * Cosine similarity of the rows two models write to a group (its axis-0 members: weight
 * rows, biases, norm parameters) for the given units, with B's reading axes permuted by the
 * groups aligned so far. A cheap, data-free tie-break for units activations cannot tell apart.
 */
export function rowSimilarity(model: Model, a: Float32Array, b: Float32Array, group: string, rowsA: number[], rowsB: number[], aligned: ReadonlyMap<string, Int32Array>): Float64Array {
  const g = model.spec.groups.find((q) => q.name === group)!;
  const roles = axisRoles(model);
  const gather = (w: Float32Array, rows: number[], permute: boolean): Float64Array[] => {
    // Each member tensor is copied (and its reading axes permuted) once, then rows are read.
    const tensors = g.members
      .filter((m) => m.axis === 0)
      .map((m) => {
        const e = model.layout.entry(m.tensor);
        const t = w.slice(e.offset, e.offset + e.size);
        if (permute) {
          for (const [axis, r] of roles.get(m.tensor) ?? []) {
            const p = aligned.get(r.group);
            if (axis !== 0 && p) gatherAxis(t, e.shape, axis, p, r.repeat);
          }
        }
        return { t, rowLen: e.size / g.size };
      });
    const width = tensors.reduce((acc, x) => acc + x.rowLen, 0);
    return rows.map((unit) => {
      const row = new Float64Array(width);
      let off = 0;
      for (const { t, rowLen } of tensors) {
        for (let k = 0; k < rowLen; k++) row[off + k] = t[unit * rowLen + k];
        off += rowLen;
      }
      return row;
    });
  };
  // Unit-normalised rows, so each similarity is one dot product.
  const unit = (rows: Float64Array[]) =>
    rows.map((v) => {
      let n = 0;
      for (const x of v) n += x * x;
      const inv = n > 0 ? 1 / Math.sqrt(n) : 0;
      return v.map((x) => x * inv);
    });
  const ra = unit(gather(a, rowsA, false));
  const rb = unit(gather(b, rowsB, true));
  const out = new Float64Array(rowsA.length * rowsB.length);
  for (let p = 0; p < ra.length; p++) {
    const x = ra[p];
    for (let q = 0; q < rb.length; q++) {
      const y = rb[q];
      let dot = 0;
      for (let k = 0; k < x.length; k++) dot += x[k] * y[k];
      out[p * rb.length + q] = dot;
    }
  }
  return out;
}

// Operands of the GEMMs below, reused across matchings (they were most of a simulated round's
// allocations): each is filled and passed to gemmABt in one synchronous stretch, and the call
// copies it to the worker before returning its promise, so no other matching can touch it.
const operand = createScratch();
// A member's tensor gathered into B's current order: read into its units matrix at once, in
// the same synchronous stretch.
const gathered = createScratch();

export async function matchWeights(rt: Runtime, model: Model, a: Float32Array, b: Float32Array, opts: WeightMatchOptions = {}): Promise<WeightMatchResult> {
  const roles = axisRoles(model);
  const groups = model.spec.groups;
  const perms = identityPermutations(model.spec);
  // A member whose tensor has no other permuted axis (a first layer's weight, a bias) adds the
  // same term to its group's cost in every sweep: its product is computed once. Only the
  // members read through another group's permutation are rebuilt and multiplied per sweep
  // (for an MLP's first hidden layer that drops the 784-wide input weights from every sweep).
  const varies = (m: PermMember) => [...(roles.get(m.tensor)?.keys() ?? [])].some((axis) => axis !== m.axis);
  const widthOf = (g: PermGroup, members: ReadonlyArray<PermMember>) => members.reduce((acc, m) => acc + model.layout.entry(m.tensor).size / g.size, 0);
  const parts = new Map(
    groups.map((g) => {
      const varying = g.members.filter(varies);
      return [g.name, { group: g, fixed: g.members.filter((m) => !varies(m)), varying, varyingWidth: widthOf(g, varying) }];
    }),
  );

  /** [units × Σrest] of `members` in w (into `out` if given); with `permute`, every other group's current permutation applied. */
  const unitsMatrix = (g: PermGroup, members: ReadonlyArray<PermMember>, w: Float32Array, permute: boolean, out?: Float32Array): Float32Array => {
    const width = widthOf(g, members);
    const mat = out ?? new Float32Array(g.size * width);
    let col = 0;
    for (const m of members) {
      const e = model.layout.entry(m.tensor);
      let t = w.subarray(e.offset, e.offset + e.size);
      if (permute) {
        // Gathered from the weights into two scratch arrays in turn (every sweep rebuilds
        // these; copies per member and axis were most of a weight matching's allocations).
        let flip = 0;
        for (const [axis, r] of roles.get(m.tensor) ?? []) {
          if (axis === m.axis) continue;
          const into = gathered(e.size, flip);
          flip ^= 1;
          gatherAxisInto(t, into, e.shape, axis, perms.get(r.group)!, r.repeat);
          t = into;
        }
      }
      unitsFirst(t, e.shape, m.axis, g.size, mat, col, width);
      col += e.size / g.size;
    }
    return mat;
  };

  // A's side never changes; the fixed part of each cost is one product for the whole descent.
  const aVarying = new Map<string, Float32Array>();
  const fixedCost = new Map<string, Float32Array>();
  for (const g of groups) {
    const { fixed, varying } = parts.get(g.name)!;
    aVarying.set(g.name, unitsMatrix(g, varying, a, false));
    const wFixed = widthOf(g, fixed);
    const size = g.size * wFixed;
    fixedCost.set(g.name, wFixed > 0 ? await gemmABt(rt, unitsMatrix(g, fixed, a, false, operand(size, 0)), unitsMatrix(g, fixed, b, false, operand(size, 1)), g.size, g.size, wFixed) : new Float32Array(g.size * g.size));
  }

  const cost = async (gname: string): Promise<Float32Array> => {
    const { group: g, varying, varyingWidth } = parts.get(gname)!;
    const base = fixedCost.get(gname)!;
    if (varyingWidth === 0) return base;
    const c = await gemmABt(rt, aVarying.get(gname)!, unitsMatrix(g, varying, b, true, operand(g.size * varyingWidth, 1)), g.size, g.size, varyingWidth);
    for (let k = 0; k < c.length; k++) c[k] += base[k];
    return c;
  };
  const total = (c: Float32Array, p: Int32Array) => p.reduce((acc, j, k) => acc + c[k * p.length + j], 0);

  const rng = createRng(opts.seed ?? 0);
  const maxSweeps = opts.maxSweeps ?? 100;
  let sweeps = 0;
  // Each group's cost matrix from the latest sweep; after a sweep without any change they
  // are exactly the matrices at the final permutations, which the report needs.
  const last = new Map<string, Float32Array>();
  // Each group's latest assignment with its duals: a sweep changes a group's matrix only
  // through the other groups' permutations, so the previous solution is a near-optimal start.
  const solved = new Map<string, { rowToCol: Int32Array; duals: Float64Array }>();
  let converged = false;
  while (sweeps < maxSweeps && !converged) {
    sweeps++;
    let progress = false;
    const order = groups.map((g) => g.name);
    rng.shuffle(order);
    for (const gname of order) {
      const c = await cost(gname);
      last.set(gname, c);
      const n = perms.get(gname)!.length;
      const { rowToCol, duals } = linearAssignment(c, n, n, { maximize: true, warmStart: solved.get(gname) });
      if (duals) solved.set(gname, { rowToCol, duals });
      const before = total(c, perms.get(gname)!);
      const after = total(c, rowToCol);
      if (after > before + 1e-12 * Math.max(1, Math.abs(before))) {
        perms.set(gname, rowToCol);
        progress = true;
      }
    }
    converged = !progress;
  }

  // Report each group against the identity, the other groups at their final permutations.
  const out = new Map<string, GroupAlignment>();
  for (const g of groups) {
    const c = converged ? last.get(g.name)! : await cost(g.name);
    const p = perms.get(g.name)!;
    const identity = identityPermutation(g.size);
    const score = total(c, p);
    const identityScore = total(c, identity);
    const gain = relativeGain(score, identityScore);
    const gated = gain < (opts.margin ?? 0);
    out.set(g.name, { group: g.name, perm: gated ? identity : p, score, identityScore, gain, gated });
  }
  return { groups: out, sweeps };
}
