// Applying unit permutations to a flat weight vector, by gathering along each member axis.
// Convention (as in Git Re-Basin): unit i of the result is unit perm[i] of the input.
import type { Layout } from './layout.js';
import type { PermSpec } from './permspec.js';

/** Group name → permutation of its units. Groups left out stay as they are. */
export type Permutations = ReadonlyMap<string, Int32Array>;

/** Gathers blocks along one axis of a row-major tensor, in place. */
export function gatherAxis(data: Float32Array, shape: ReadonlyArray<number>, axis: number, perm: Int32Array, repeat = 1): void {
  gatherAxisInto(data.slice(), data, shape, axis, perm, repeat);
}

/** Gathers blocks along one axis of row-major `src` into `data` (another array of its size). */
export function gatherAxisInto(src: Float32Array, data: Float32Array, shape: ReadonlyArray<number>, axis: number, perm: Int32Array, repeat = 1): void {
  if (src.length !== data.length) throw new Error(`gatherAxis: ${src.length} values into ${data.length}`);
  const outer = shape.slice(0, axis).reduce((a, b) => a * b, 1);
  const inner = shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  const len = shape[axis];
  if (perm.length * repeat !== len) throw new Error(`gatherAxis: permutation of ${perm.length}×${repeat} for an axis of ${len}`);
  const block = repeat * inner;
  for (let o = 0; o < outer; o++) {
    const base = o * len * inner;
    if (block < 16) {
      // Short blocks (a weight's column axis): element loops beat a subarray per block.
      for (let i = 0; i < perm.length; i++) {
        const from = base + perm[i] * block;
        const to = base + i * block;
        for (let k = 0; k < block; k++) data[to + k] = src[from + k];
      }
      continue;
    }
    for (let i = 0; i < perm.length; i++) {
      const from = base + perm[i] * block;
      data.set(src.subarray(from, from + block), base + i * block);
    }
  }
}

export function isPermutation(p: Int32Array, n: number): boolean {
  if (p.length !== n) return false;
  const seen = new Uint8Array(n);
  for (const v of p) {
    if (v < 0 || v >= n || seen[v]) return false;
    seen[v] = 1;
  }
  return true;
}

/** A permuted copy of `weights`. */
export function permuteWeights(layout: Layout, spec: PermSpec, weights: Float32Array, perms: Permutations): Float32Array {
  const out = weights.slice();
  for (const g of spec.groups) {
    const p = perms.get(g.name);
    if (!p) continue;
    if (!isPermutation(p, g.size)) throw new Error(`permuteWeights: not a permutation of ${g.size} units for group '${g.name}'`);
    for (const m of g.members) {
      const e = layout.entry(m.tensor);
      gatherAxis(out.subarray(e.offset, e.offset + e.size), e.shape, m.axis, p, m.repeat ?? 1);
    }
  }
  for (const name of perms.keys()) {
    if (!spec.groups.some((g) => g.name === name)) throw new Error(`permuteWeights: no group named '${name}'`);
  }
  return out;
}

export function identityPermutation(n: number): Int32Array {
  return Int32Array.from({ length: n }, (_, i) => i);
}

/** The identity for every group of a spec, in new arrays the caller may change. */
export function identityPermutations(spec: PermSpec): Map<string, Int32Array> {
  return new Map(spec.groups.map((g) => [g.name, identityPermutation(g.size)]));
}

export function invertPermutation(p: Int32Array): Int32Array {
  const inv = new Int32Array(p.length);
  p.forEach((v, i) => (inv[v] = i));
  return inv;
}
