// Weight matching depends only on the two versions it aligns (and the options), so its result
// can be keyed by their content hashes. Both sides of a frame border align the same pair of
// published versions (the reference's to the other's), and on a complete graph every agent
// holding both does too: in a simulated cluster the agents share one cache and each pair is
// solved once per round instead of once per agent that meets it.
import type { GroupAlignment } from '../merge/align.js';

export type PairAlignment = ReadonlyMap<string, GroupAlignment>;

export interface AlignmentCache {
  /** The alignment of `b` to `a` under `options`, computed by `compute` the first time only. */
  get(a: string, b: string, options: string, compute: () => Promise<PairAlignment>): Promise<PairAlignment>;
  /** Pairs solved, and pairs served from the cache. */
  stats(): { readonly computed: number; readonly reused: number };
}

export interface AlignmentCacheOptions {
  /** Entries kept (oldest dropped first); an entry is a few permutations, ~1 KB for an MLP. */
  readonly capacity?: number;
}

export function createAlignmentCache(o: AlignmentCacheOptions = {}): AlignmentCache {
  const capacity = o.capacity ?? 4096;
  if (!Number.isInteger(capacity) || capacity < 1) throw new Error(`alignment cache: capacity must be a positive integer, got ${capacity}`);
  const entries = new Map<string, Promise<PairAlignment>>();
  let computed = 0;
  let reused = 0;
  return {
    get(a, b, options, compute) {
      const key = `${a}|${b}|${options}`;
      const hit = entries.get(key);
      if (hit) {
        reused++;
        return hit;
      }
      computed++;
      // The promise is stored at once, so agents merging concurrently wait for one solve; a
      // failed solve is not kept.
      const p = compute();
      entries.set(key, p);
      p.catch(() => {
        if (entries.get(key) === p) entries.delete(key);
      });
      if (entries.size > capacity) entries.delete(entries.keys().next().value as string);
      return p;
    },
    stats: () => ({ computed, reused }),
  };
}
