// Seeded random permutations, one per unit group of a model (to move a model to another frame).
import type { PermSpec } from '../../node/model/permspec.js';
import { identityPermutation } from '../../node/model/permute.js';
import { createRng } from '../../node/util/rng.js';

export function randomPerms(spec: PermSpec, seed: number): Map<string, Int32Array> {
  const rng = createRng(seed);
  return new Map(
    spec.groups.map((g) => {
      const p = identityPermutation(g.size);
      rng.shuffle(p);
      return [g.name, p];
    }),
  );
}
