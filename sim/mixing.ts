// Mixing weights of a graph and their spectral gap. Metropolis–Hastings weights are symmetric
// and doubly stochastic on any undirected graph (the standard choice for decentralised
// averaging); uniform weights 1/(deg+1) are row-stochastic only.
import { EigenvalueDecomposition, Matrix } from 'ml-matrix';
import type { Graph } from './topology.js';

export type MixingKind = 'metropolis' | 'uniform';
export const MIXING_KINDS: ReadonlyArray<MixingKind> = ['metropolis', 'uniform'];

export interface Mixing {
  /** Own weight of each agent. */
  readonly self: ReadonlyArray<number>;
  /** weights[i][k]: weight of agent i's k-th neighbour (graph.neighbours[i][k]). */
  readonly weights: ReadonlyArray<ReadonlyArray<number>>;
}

export function mixingWeights(g: Graph, kind: MixingKind): Mixing {
  const deg = g.neighbours.map((ns) => ns.length);
  // Metropolis–Hastings needs symmetric links; directed schedules fall back to uniform.
  const mh = kind === 'metropolis' && !g.directed;
  const weights = g.neighbours.map((ns, i) => ns.map((j) => (mh ? 1 / (1 + Math.max(deg[i], deg[j])) : 1 / (deg[i] + 1))));
  const self = weights.map((ws) => 1 - ws.reduce((a, w) => a + w, 0));
  return { self, weights };
}

export function mixingMatrix(g: Graph, m: Mixing): number[][] {
  const w = Array.from({ length: g.n }, () => new Array<number>(g.n).fill(0));
  g.neighbours.forEach((ns, i) => {
    w[i][i] = m.self[i];
    ns.forEach((j, k) => (w[i][j] = m.weights[i][k]));
  });
  return w;
}

/** 1 − |λ₂|: the second-largest eigenvalue modulus of the mixing matrix (0 for one agent). */
export function spectralGap(g: Graph, m: Mixing): number {
  if (g.n < 2) return 1;
  const evd = new EigenvalueDecomposition(new Matrix(mixingMatrix(g, m)));
  const mods = evd.realEigenvalues.map((re, k) => Math.hypot(re, evd.imaginaryEigenvalues[k])).sort((a, b) => b - a);
  return Math.max(0, 1 - mods[1]);
}
