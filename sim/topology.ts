// Topologies as data: a graph is n agents and, per agent, the agents it merges with (its
// in-neighbours). Undirected generators give symmetric lists; the one-peer exponential
// schedule is directed. Random generators take a seeded Rng, so a seed fixes the graph.
import type { Rng } from '../node/util/rng.js';

export interface Graph {
  readonly n: number;
  /** neighbours[i]: the agents i merges with, sorted, never i itself. */
  readonly neighbours: ReadonlyArray<ReadonlyArray<number>>;
  readonly directed: boolean;
}

export type TopologySpec =
  | { readonly kind: 'ring' }
  | { readonly kind: 'torus'; readonly rows?: number }
  | { readonly kind: 'complete' }
  | { readonly kind: 'star' }
  | { readonly kind: 'random-regular'; readonly degree: number }
  | { readonly kind: 'erdos-renyi'; readonly p: number }
  | { readonly kind: 'small-world'; readonly k: number; readonly beta: number }
  | { readonly kind: 'exponential' }
  | { readonly kind: 'bipartite' };

export const TOPOLOGY_KINDS = ['ring', 'torus', 'complete', 'star', 'random-regular', 'erdos-renyi', 'small-world', 'exponential', 'bipartite'] as const;

function fromEdges(n: number, edges: Iterable<readonly [number, number]>): Graph {
  const sets = Array.from({ length: n }, () => new Set<number>());
  for (const [a, b] of edges) {
    if (a === b) continue;
    sets[a].add(b);
    sets[b].add(a);
  }
  return { n, neighbours: sets.map((s) => [...s].sort((x, y) => x - y)), directed: false };
}

export function isConnected(g: Graph): boolean {
  if (g.n <= 1) return true;
  // Connectivity of the undirected version (a directed schedule is judged over its rounds).
  const und = Array.from({ length: g.n }, () => new Set<number>());
  g.neighbours.forEach((ns, i) => {
    for (const j of ns) {
      und[i].add(j);
      und[j].add(i);
    }
  });
  const seen = new Set([0]);
  const stack = [0];
  while (stack.length) {
    for (const j of und[stack.pop()!]) {
      if (seen.has(j)) continue;
      seen.add(j);
      stack.push(j);
    }
  }
  return seen.size === g.n;
}

const pairKey = (a: number, b: number) => (a < b ? `${a},${b}` : `${b},${a}`);

/** A random d-regular graph by the pairing model, retried until simple and connected. */
function randomRegular(n: number, d: number, rng: Rng): Graph {
  if (d < 1 || d >= n) throw new Error(`random-regular: degree must be in 1..${n - 1}, got ${d}`);
  if ((n * d) % 2 !== 0) throw new Error(`random-regular: agents × degree must be even (${n} × ${d})`);
  for (let attempt = 0; attempt < 1000; attempt++) {
    const stubs: number[] = [];
    for (let i = 0; i < n; i++) for (let k = 0; k < d; k++) stubs.push(i);
    rng.shuffle(stubs);
    const edges = new Set<string>();
    let ok = true;
    for (let k = 0; k < stubs.length; k += 2) {
      const [a, b] = [stubs[k], stubs[k + 1]];
      if (a === b || edges.has(pairKey(a, b))) {
        ok = false;
        break;
      }
      edges.add(pairKey(a, b));
    }
    if (!ok) continue;
    const g = fromEdges(n, [...edges].map((e) => e.split(',').map(Number) as [number, number]));
    if (isConnected(g)) return g;
  }
  throw new Error(`random-regular: no simple connected ${d}-regular graph on ${n} agents found`);
}

export function makeGraph(n: number, spec: TopologySpec, rng: Rng): Graph {
  if (!Number.isInteger(n) || n < 1) throw new Error(`topology: agents must be a positive integer, got ${n}`);
  const edges: Array<[number, number]> = [];
  switch (spec.kind) {
    case 'ring':
      for (let i = 0; i < n && n > 1; i++) edges.push([i, (i + 1) % n]);
      return fromEdges(n, edges);
    case 'torus': {
      // Default: the squarest grid, i.e. the largest divisor of n not above √n.
      let rows = spec.rows ?? Math.max(1, Math.floor(Math.sqrt(n)));
      if (spec.rows === undefined) while (n % rows !== 0) rows--;
      if (n % rows !== 0) throw new Error(`torus: ${n} agents do not fill ${rows} rows`);
      const cols = n / rows;
      const at = (r: number, c: number) => ((r + rows) % rows) * cols + ((c + cols) % cols);
      for (let r = 0; r < rows; r++) {
        for (let c = 0; c < cols; c++) {
          edges.push([at(r, c), at(r, c + 1)]);
          edges.push([at(r, c), at(r + 1, c)]);
        }
      }
      return fromEdges(n, edges);
    }
    case 'complete':
      for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) edges.push([i, j]);
      return fromEdges(n, edges);
    case 'star':
      for (let i = 1; i < n; i++) edges.push([0, i]);
      return fromEdges(n, edges);
    case 'random-regular':
      return randomRegular(n, spec.degree, rng);
    case 'erdos-renyi': {
      if (!(spec.p > 0 && spec.p <= 1)) throw new Error(`erdos-renyi: p must be in (0, 1], got ${spec.p}`);
      // Redrawn until connected: a disconnected graph cannot reach consensus at all.
      for (let attempt = 0; attempt < 1000; attempt++) {
        const e: Array<[number, number]> = [];
        for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) if (rng.next() < spec.p) e.push([i, j]);
        const g = fromEdges(n, e);
        if (isConnected(g)) return g;
      }
      throw new Error(`erdos-renyi: no connected graph drawn with p = ${spec.p} on ${n} agents; raise p`);
    }
    case 'small-world': {
      // Watts–Strogatz: a ring lattice with k nearest neighbours, each edge rewired with β.
      const k = spec.k;
      if (!Number.isInteger(k) || k < 2 || k % 2 !== 0 || k >= n) throw new Error(`small-world: k must be even and in 2..${n - 1}, got ${k}`);
      if (!(spec.beta >= 0 && spec.beta <= 1)) throw new Error(`small-world: beta must be in [0, 1], got ${spec.beta}`);
      for (let attempt = 0; attempt < 1000; attempt++) {
        const set = new Set<string>();
        for (let i = 0; i < n; i++) for (let s = 1; s <= k / 2; s++) set.add(pairKey(i, (i + s) % n));
        for (let i = 0; i < n; i++) {
          for (let s = 1; s <= k / 2; s++) {
            const key = pairKey(i, (i + s) % n);
            if (!set.has(key) || rng.next() >= spec.beta) continue;
            const free = Array.from({ length: n }, (_, j) => j).filter((j) => j !== i && !set.has(pairKey(i, j)));
            if (!free.length) continue;
            set.delete(key);
            set.add(pairKey(i, free[rng.int(free.length)]));
          }
        }
        const g = fromEdges(n, [...set].map((e) => e.split(',').map(Number) as [number, number]));
        if (isConnected(g)) return g;
      }
      throw new Error('small-world: no connected graph drawn; lower beta');
    }
    case 'exponential':
      // Static exponential graph: i is linked to i ± 2^k for every 2^k < n.
      for (let i = 0; i < n; i++) for (let h = 1; h < n; h *= 2) edges.push([i, (i + h) % n]);
      return fromEdges(n, edges);
    case 'bipartite': {
      // DIMAT's bipartite topology: two halves, every agent linked to every agent of the other half.
      const half = Math.ceil(n / 2);
      for (let i = 0; i < half; i++) for (let j = half; j < n; j++) edges.push([i, j]);
      return fromEdges(n, edges);
    }
  }
}

export function degrees(g: Graph): number[] {
  return g.neighbours.map((ns) => ns.length);
}

/** Undirected edges (i < j) of a symmetric graph, or directed arcs (j → i) of a directed one. */
export function edgeList(g: Graph): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  g.neighbours.forEach((ns, i) => {
    for (const j of ns) {
      if (g.directed) out.push([j, i]);
      else if (j > i) out.push([i, j]);
    }
  });
  return out;
}

export function directedGraph(n: number, neighbours: ReadonlyArray<ReadonlyArray<number>>): Graph {
  return { n, neighbours: neighbours.map((ns, i) => [...new Set(ns)].filter((j) => j >= 0 && j < n && j !== i).sort((x, y) => x - y)), directed: true };
}
