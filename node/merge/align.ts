// Alignment by permutation: per unit group, the permutation of B's units that maximises a
// score matrix against A's, with a report of how much better it is than the identity. The
// report is what gates alignment: models that already share a frame gain ~nothing, and a
// permutation chosen on noise would only hurt them.
import { linearAssignment } from '../tensor/linalg/lap.js';
import { correlation, type FeatureStats } from './stats.js';

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
  let out: Float64Array;
  if (kind === 'correlation') out = correlation(s);
  else if (kind === 'inner') out = Float64Array.from(s.cross);
  else {
    // Negative squared distance between unit activation vectors: E[a²] + E[b²] − 2E[ab].
    out = new Float64Array(d * d);
    for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) out[i * d + j] = 2 * s.cross[i * d + j] - s.sqA[i] - s.sqB[j];
  }
  if (s.pre) breakDeadTies(out, s, s.pre);
  return out;
}

const DEAD_TIE_WEIGHT = 1e-6;

/**
 * Units that never fire after the ReLU score the same against everything, so the assignment
 * would pair them arbitrarily although their weights differ. Among pairs of such units only,
 * add a tiny multiple of their pre-activation correlation: it decides those ties and nothing
 * else (live units' scores differ by far more than 1e-6).
 */
function breakDeadTies(out: Float64Array, s: FeatureStats, pre: FeatureStats): void {
  const d = s.size;
  const variance = (q: Float64Array, m: Float64Array) => q.map((x, i) => x - m[i] * m[i]);
  const vA = variance(s.sqA, s.meanA);
  const vB = variance(s.sqB, s.meanB);
  const scale = Math.max(...vA, ...vB, 1e-30);
  const deadA = [...vA.keys()].filter((i) => vA[i] <= 1e-10 * scale);
  const deadB = [...vB.keys()].filter((j) => vB[j] <= 1e-10 * scale);
  if (!deadA.length || !deadB.length) return;
  const rho = correlation(pre);
  for (const i of deadA) for (const j of deadB) out[i * d + j] += DEAD_TIE_WEIGHT * rho[i * d + j];
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
  return { group, perm: gated ? Int32Array.from({ length: d }, (_, i) => i) : rowToCol, score: objective, identityScore, gain, gated };
}

export interface ActivationMatchOptions {
  readonly score?: MatchScore;
  /** Keep the identity where the relative gain is below this (default 0: never gate). */
  readonly margin?: number;
}

/** Activation matching (Git Re-Basin §3.1 / DIMAT): one assignment per group from feature statistics. */
export function matchActivations(stats: ReadonlyMap<string, FeatureStats>, opts: ActivationMatchOptions = {}): Map<string, GroupAlignment> {
  const out = new Map<string, GroupAlignment>();
  for (const [group, s] of stats) out.set(group, alignGroup(group, scoreMatrix(s, opts.score ?? 'correlation'), s.size, opts.margin ?? 0));
  return out;
}
