// Aligning N models into one frame before a weighted merge: either each model to a common
// reference (the first), or Git Re-Basin's MergeMany: repeatedly align each model to the
// mean of the others (in their current frames) until no permutation changes. The latter has
// no anchor, which is what a gossip neighbourhood needs.
import type { Dataset } from '../data/dataset.js';
import type { Model } from '../model/model.js';
import { identityPermutations } from '../model/permute.js';
import type { Runtime } from '../tensor/runtime/pool.js';
import { createRng } from '../util/rng.js';
import { matchActivations, type GroupAlignment, type MatchScore } from './align.js';
import { applyMerge, checkMixing, permutationMerge, type GroupMerge } from './plan.js';
import { pairStats } from './stats.js';
import { matchWeights, rowSimilarity } from './weight-matching.js';

export type AlignBy = 'weight' | 'activation';

export interface AlignOptions {
  readonly by: AlignBy;
  /** For activation matching: unlabelled samples to compute features on. */
  readonly data?: { readonly ds: Dataset; readonly indices: ArrayLike<number> };
  readonly score?: MatchScore;
  readonly margin?: number;
  readonly seed?: number;
  /** 'first': every model to model 0; 'mean': MergeMany. */
  readonly reference?: 'first' | 'mean';
  readonly maxRounds?: number;
}

export interface AlignResult {
  /** perms[m].get(group)[k] = model m's unit placed at merged unit k (model 0: identity for 'first'). */
  readonly perms: Array<Map<string, Int32Array>>;
  /** The alignment reports of each model's last alignment (undefined for the reference). */
  readonly reports: Array<Map<string, GroupAlignment> | undefined>;
  readonly rounds: number;
}

/** Aligns model `b` to reference weights `a`: per group, b's unit for each of a's units. */
export async function alignPair(rt: Runtime, model: Model, a: Float32Array, b: Float32Array, opts: AlignOptions): Promise<Map<string, GroupAlignment>> {
  if (opts.by === 'weight') return (await matchWeights(rt, model, a, b, { seed: opts.seed, margin: opts.margin })).groups;
  if (!opts.data) throw new Error('activation matching needs data (--dataset, --samples)');
  const stats = await pairStats(rt, model, a, b, opts.data.ds, opts.data.indices);
  return matchActivations(stats, {
    score: opts.score,
    margin: opts.margin,
    deadTieBreak: (group, deadA, deadB, aligned) => rowSimilarity(model, a, b, group, deadA, deadB, aligned),
  });
}

export function planFromPerms(model: Model, perms: ReadonlyArray<Map<string, Int32Array>>, mix: ReadonlyArray<number>): Map<string, GroupMerge> {
  return new Map(model.spec.groups.map((g) => [g.name, permutationMerge(perms.map((p) => p.get(g.name)!), mix)]));
}

export async function alignModels(rt: Runtime, model: Model, weights: ReadonlyArray<Float32Array>, mixIn: ReadonlyArray<number>, opts: AlignOptions): Promise<AlignResult> {
  const n = weights.length;
  const mix = checkMixing(mixIn, n);
  const perms = weights.map(() => identityPermutations(model.spec));
  const reports: Array<Map<string, GroupAlignment> | undefined> = new Array(n).fill(undefined);
  if ((opts.reference ?? 'first') === 'first') {
    for (let m = 1; m < n; m++) {
      const rep = await alignPair(rt, model, weights[0], weights[m], opts);
      reports[m] = rep;
      for (const [g, al] of rep) perms[m].set(g, al.perm);
    }
    return { perms, reports, rounds: 1 };
  }
  // MergeMany: align each model to the weighted mean of the others, until nothing changes.
  const rng = createRng(opts.seed ?? 0);
  const maxRounds = opts.maxRounds ?? 5;
  let rounds = 0;
  for (; rounds < maxRounds; rounds++) {
    let changed = false;
    const order = Array.from({ length: n }, (_, i) => i);
    rng.shuffle(order);
    for (const m of order) {
      const others = order.filter((o) => o !== m).sort((x, y) => x - y);
      const otherMix = others.map((o) => mix[o]);
      if (otherMix.every((w) => w === 0)) continue;
      const mean = applyMerge(model, model, others.map((o) => weights[o]), planFromPerms(model, others.map((o) => perms[o]), otherMix), otherMix);
      const rep = await alignPair(rt, model, mean, weights[m], opts);
      reports[m] = rep;
      for (const [g, al] of rep) {
        const old = perms[m].get(g)!;
        if (al.perm.some((v, k) => v !== old[k])) changed = true;
        perms[m].set(g, al.perm);
      }
    }
    if (!changed) {
      rounds++;
      break;
    }
  }
  return { perms, reports, rounds };
}
