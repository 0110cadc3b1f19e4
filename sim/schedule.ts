// Time-varying topologies: which graph agents merge over in round r. A schedule is data
// (scenario.schedule); the graph of a round depends only on the seed and the round, so a run
// replays exactly.
import { createRng, type Rng } from '../node/util/rng.js';
import { directedGraph, makeGraph, type Graph, type TopologySpec } from './topology.js';

export type ScheduleSpec =
  | { readonly kind: 'static' }
  | { readonly kind: 'one-peer-exponential' }
  | { readonly kind: 'random-matching' }
  | { readonly kind: 'resample'; readonly every: number };

export const SCHEDULE_KINDS = ['static', 'one-peer-exponential', 'random-matching', 'resample'] as const;

export interface Schedule {
  /** The graph of round r (1-based). */
  graphAt(round: number): Graph;
  readonly static: boolean;
}

export function createSchedule(n: number, topology: TopologySpec, spec: ScheduleSpec, seed: number): Schedule {
  const base = makeGraph(n, topology, createRng(seed));
  switch (spec.kind) {
    case 'static':
      return { graphAt: () => base, static: true };
    case 'one-peer-exponential': {
      // Round r: agent i merges with i − 2^((r−1) mod τ), τ = ⌈log₂ n⌉ (one peer per round;
      // every τ rounds the union is the exponential graph).
      const tau = Math.max(1, Math.ceil(Math.log2(n)));
      return {
        static: false,
        graphAt: (r) => {
          const hop = 2 ** ((r - 1) % tau);
          return directedGraph(n, Array.from({ length: n }, (_, i) => (n > 1 ? [(((i - hop) % n) + n) % n] : [])));
        },
      };
    }
    case 'random-matching':
      return {
        static: false,
        graphAt: (r) => {
          const rng: Rng = createRng(seed).fork(1000 + r);
          const order = Array.from({ length: n }, (_, i) => i);
          rng.shuffle(order);
          const ns: number[][] = Array.from({ length: n }, () => []);
          for (let k = 0; k + 1 < n; k += 2) {
            ns[order[k]].push(order[k + 1]);
            ns[order[k + 1]].push(order[k]);
          }
          return { n, neighbours: ns, directed: false };
        },
      };
    case 'resample': {
      if (!Number.isInteger(spec.every) || spec.every < 1) throw new Error(`schedule resample: every must be a positive integer, got ${spec.every}`);
      const cache = new Map<number, Graph>();
      return {
        static: false,
        graphAt: (r) => {
          const epoch = Math.floor((r - 1) / spec.every);
          let g = cache.get(epoch);
          if (!g) cache.set(epoch, (g = epoch === 0 ? base : makeGraph(n, topology, createRng(seed).fork(2000 + epoch))));
          return g;
        },
      };
    }
  }
}
