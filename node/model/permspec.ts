// The permutation spec: which axes of which tensors index the same hidden units. Permuting
// every member of a group by the same permutation leaves the network's function unchanged;
// alignment methods choose those permutations (or, more generally, merge/unmerge matrices).
import type { Layout } from './layout.js';

export interface PermMember {
  readonly tensor: string;
  readonly axis: number;
  /**
   * The axis is read as (units, repeat) in row-major order: a flatten after a conv makes the
   * next layer's input axis C·H·W long, and a channel permutation moves blocks of H·W.
   */
  readonly repeat?: number;
}

export interface PermGroup {
  readonly name: string;
  /** Number of units. */
  readonly size: number;
  readonly members: ReadonlyArray<PermMember>;
  /** Feature taps whose axis 1 holds this group's units (post-activation features). */
  readonly taps: ReadonlyArray<string>;
}

export interface PermSpec {
  readonly groups: ReadonlyArray<PermGroup>;
}

/** Checks a spec against a layout; a broken spec would silently corrupt every merge. */
export function validatePermSpec(spec: PermSpec, layout: Layout): void {
  const names = new Set<string>();
  for (const g of spec.groups) {
    if (names.has(g.name)) throw new Error(`perm spec: duplicate group '${g.name}'`);
    names.add(g.name);
    for (const m of g.members) {
      const e = layout.entry(m.tensor);
      if (m.axis < 0 || m.axis >= e.shape.length) throw new Error(`perm spec: ${m.tensor} has no axis ${m.axis}`);
      const len = g.size * (m.repeat ?? 1);
      if (e.shape[m.axis] !== len) throw new Error(`perm spec: ${m.tensor} axis ${m.axis} is ${e.shape[m.axis]} long, group '${g.name}' needs ${len}`);
    }
  }
}
