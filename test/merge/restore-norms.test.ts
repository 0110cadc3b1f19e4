// Data-free norm restoration after averaging: each merged unit gets the mean norm of the source
// units it was built from, which under a permutation merge are different unit indices.
import { describe, expect, it } from 'vitest';
import { createModel } from '../../node/model/model.js';
import { identityPermutation, invertPermutation, permuteWeights } from '../../node/model/permute.js';
import { applyMerge } from '../../node/merge/plan.js';
import { planFromPerms } from '../../node/merge/many.js';
import { restoreNorms } from '../../node/merge/repair.js';
import { randomPerms } from '../helpers/perms.js';

const model = createModel({ kind: 'mlp', input: [1, 28, 28], hidden: [32, 16], classes: 10 });
const groups = model.spec.groups;
const identity = () => new Map(groups.map((g) => [g.name, identityPermutation(g.size)]));

function rowNorm(w: Float32Array, tensor: string, unit: number): number {
  const e = model.layout.entry(tensor);
  const rest = e.size / e.shape[0];
  let s = 0;
  for (let k = e.offset + unit * rest; k < e.offset + (unit + 1) * rest; k++) s += w[k] * w[k];
  return s;
}

describe('restoreNorms', () => {
  it('leaves a model merged with an aligned permuted copy of itself unchanged', () => {
    // Unit norms that differ a lot, so mixing up units would show.
    const a = model.init(1);
    const g0 = groups[0];
    const w = model.layout.entry(g0.members.find((m) => m.axis === 0)!.tensor);
    const rest = w.size / w.shape[0];
    for (let u = 0; u < g0.size; u++) for (let k = 0; k < rest; k++) a[w.offset + u * rest + k] *= 1 + u;
    const perm = randomPerms(model.spec, 2);
    const b = permuteWeights(model.layout, model.spec, a, perm);
    // Aligning b back to a: unit u of the merge takes unit q[u] of b, where b[q[u]] = a[u].
    const back = new Map([...perm].map(([g, p]) => [g, invertPermutation(p)] as const));
    const perms = [identity(), back];
    const merged = applyMerge(model, model, [a, b], planFromPerms(model, perms, [0.5, 0.5]), [0.5, 0.5]);
    for (let k = 0; k < a.length; k++) expect(Math.abs(merged[k] - a[k])).toBeLessThan(1e-5);
    const restored = restoreNorms(model, merged, [a, b], perms);
    let worst = 0;
    for (let k = 0; k < a.length; k++) worst = Math.max(worst, Math.abs(restored[k] - a[k]));
    expect(worst).toBeLessThan(1e-5);
  });

  it('rescales each unit of an unaligned average to the mean norm of its sources', () => {
    const a = model.init(3);
    const b = model.init(4);
    const merged = applyMerge(model, model, [a, b], planFromPerms(model, [identity(), identity()], [0.5, 0.5]), [0.5, 0.5]);
    const restored = restoreNorms(model, merged, [a, b]);
    for (const g of groups) {
      const writers = g.members.filter((m) => m.axis === 0).map((m) => m.tensor);
      for (let u = 0; u < g.size; u++) {
        const norm = (x: Float32Array) => Math.sqrt(writers.reduce((s, t) => s + rowNorm(x, t, u), 0));
        expect(norm(merged)).toBeLessThan((norm(a) + norm(b)) / 2);
        expect(norm(restored)).toBeCloseTo((norm(a) + norm(b)) / 2, 4);
      }
    }
    // In place: the same values, written into the merge itself.
    const own = merged.slice();
    const inPlace = restoreNorms(model, own, [a, b], undefined, { inPlace: true });
    expect(inPlace).toBe(own);
    expect(Array.from(inPlace)).toEqual(Array.from(restored));
  });
});
