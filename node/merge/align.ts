// Alignment by permutation: per unit group, the permutation of B's units that maximises a
// score matrix against A's, with a report of how much better it is than the identity. The
// report is what gates alignment: models that already share a frame gain ~nothing, and a
// permutation chosen on noise would only hurt them.
import { identityPermutation } from '../model/permute.js';
import { linearAssignment } from '../tensor/linalg/lap.js';
import { correlation, deviations, type FeatureStats } from './stats.js';

export type MatchScore = 'correlation' | 'inner' | 'distance';
export const MATCH_SCORES: ReadonlyArray<MatchScore> = ['correlation', 'inner', 'distance'];

export interface GroupAlignment {
  readonly group: string;
  /** perm[k] = the unit of B matched to A's unit k (unit k of aligned B is B's unit perm[k]). */
  readonly perm: Int32Array;
  /** Σ_k S[k, perm[k]] and Σ_k S[k, k]. */
  readonly score: number;
  readonly identityScore: number;
  /** (score − identityScore) / max(|score|, |identityScore|): 0 when the frames already agree. */
  readonly gain: number;
  /** True when the gain was below the margin and the identity was kept. */
  readonly gated: boolean;
}

/** Score of A's unit i against B's unit j (higher is better), d×d row-major. */
export function scoreMatrix(s: FeatureStats, kind: MatchScore): Float64Array {
  const d = s.size;
  if (kind === 'correlation') return correlation(s);
  if (kind === 'inner') return Float64Array.from(s.cross);
  // Negative squared distance between unit activation vectors: E[a²] + E[b²] − 2E[ab].
  const out = new Float64Array(d * d);
  for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) out[i * d + j] = 2 * s.cross[i * d + j] - s.sqA[i] - s.sqB[j];
  return out;
}

/** Units whose activation never varies over the data (e.g. ReLUs that never fire). */
export function deadUnits(s: FeatureStats): { a: number[]; b: number[] } {
  const sdA = deviations(s.sqA, s.meanA);
  const sdB = deviations(s.sqB, s.meanB);
  let scale = 1e-30;
  for (let i = 0; i < s.size; i++) scale = Math.max(scale, sdA[i], sdB[i]);
  return { a: [...sdA.keys()].filter((i) => sdA[i] <= 1e-5 * scale), b: [...sdB.keys()].filter((j) => sdB[j] <= 1e-5 * scale) };
}

export function relativeGain(score: number, identity: number): number {
  const scale = Math.max(Math.abs(score), Math.abs(identity));
  return scale > 0 ? (score - identity) / scale : 0;
}

/** The best permutation for one score matrix, gated against the identity by `margin`. */
export function alignGroup(group: string, score: Float64Array, d: number, margin = 0): GroupAlignment {
  const { rowToCol, objective } = linearAssignment(score, d, d, { maximize: true });
  let identityScore = 0;
  for (let k = 0; k < d; k++) identityScore += score[k * d + k];
  const gain = relativeGain(objective, identityScore);
  const gated = gain < margin;
  return { group, perm: gated ? identityPermutation(d) : rowToCol, score: objective, identityScore, gain, gated };
}

export interface ActivationMatchOptions {
  readonly score?: MatchScore;
  /** Keep the identity where the relative gain is below this (default 0: never gate). */
  readonly margin?: number;
  /**
   * Similarity of A's dead unit i and B's dead unit j (given the groups aligned so far).
   * Dead units score the same against everything, so the assignment would pair them
   * arbitrarily although their weights differ; a tiny multiple of this decides those ties
   * and nothing else.
   */
  readonly deadTieBreak?: (group: string, deadA: number[], deadB: number[], aligned: ReadonlyMap<string, Int32Array>) => Float64Array;
}

const DEAD_TIE_WEIGHT = 1e-6;

/** Activation matching (Git Re-Basin §3.1 / DIMAT): one assignment per group from feature statistics. */
export function matchActivations(stats: ReadonlyMap<string, FeatureStats>, opts: ActivationMatchOptions = {}): Map<string, GroupAlignment> {
  const out = new Map<string, GroupAlignment>();
  const aligned = new Map<string, Int32Array>();
  for (const [group, s] of stats) {
    const score = scoreMatrix(s, opts.score ?? 'correlation');
    const dead = opts.deadTieBreak ? deadUnits(s) : { a: [], b: [] };
    if (dead.a.length && dead.b.length) {
      const sim = opts.deadTieBreak!(group, dead.a, dead.b, aligned);
      dead.a.forEach((i, p) => dead.b.forEach((j, q) => (score[i * s.size + j] += DEAD_TIE_WEIGHT * sim[p * dead.b.length + q])));
    }
    const al = alignGroup(group, score, s.size, opts.margin ?? 0);
    out.set(group, al);
    aligned.set(group, al.perm);
  }
  return out;
}
