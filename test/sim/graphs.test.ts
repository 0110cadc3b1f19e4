// Topologies, schedules, mixing weights, spectral gaps and the gossip flood model: pure
// functions of the scenario and its seed.
import { describe, expect, it } from 'vitest';
import { flood, gossipEnvelopeBytes, undirectedLinks } from '../../sim/gossip.js';
import { mixingMatrix, mixingWeights, spectralGap } from '../../sim/mixing.js';
import { createSchedule } from '../../sim/schedule.js';
import { degrees, edgeList, isConnected, makeGraph, TOPOLOGY_KINDS, type TopologySpec } from '../../sim/topology.js';
import { createRng } from '../../node/util/rng.js';

const specs: Record<(typeof TOPOLOGY_KINDS)[number], TopologySpec> = {
  ring: { kind: 'ring' },
  torus: { kind: 'torus' },
  complete: { kind: 'complete' },
  star: { kind: 'star' },
  'random-regular': { kind: 'random-regular', degree: 3 },
  'erdos-renyi': { kind: 'erdos-renyi', p: 0.4 },
  'small-world': { kind: 'small-world', k: 4, beta: 0.3 },
  exponential: { kind: 'exponential' },
  bipartite: { kind: 'bipartite' },
};

describe('topologies', () => {
  it('every generator gives a connected, symmetric, loop-free graph, the same for the same seed', () => {
    for (const kind of TOPOLOGY_KINDS) {
      const g = makeGraph(16, specs[kind], createRng(5));
      expect(isConnected(g), kind).toBe(true);
      g.neighbours.forEach((ns, i) => {
        expect(ns.includes(i), kind).toBe(false);
        for (const j of ns) expect(g.neighbours[j].includes(i), `${kind} ${i}-${j}`).toBe(true);
      });
      expect(makeGraph(16, specs[kind], createRng(5)).neighbours, kind).toEqual(g.neighbours);
    }
  });

  it('degrees are those of the named graphs', () => {
    const deg = (s: TopologySpec, n = 16) => degrees(makeGraph(n, s, createRng(1)));
    expect(new Set(deg({ kind: 'ring' }))).toEqual(new Set([2]));
    expect(new Set(deg({ kind: 'torus' }))).toEqual(new Set([4]));
    expect(new Set(deg({ kind: 'complete' }))).toEqual(new Set([15]));
    expect(deg({ kind: 'star' }).sort((a, b) => a - b)).toEqual([...new Array(15).fill(1), 15]);
    expect(new Set(deg({ kind: 'random-regular', degree: 3 }))).toEqual(new Set([3]));
    // Exponential graph: links to i ± 2^k, so log2(16) = 4 distances, 2 ways, minus the antipode counted once.
    expect(new Set(deg({ kind: 'exponential' }))).toEqual(new Set([7]));
    expect(edgeList(makeGraph(8, { kind: 'ring' }, createRng(0)))).toHaveLength(8);
    // 10 agents: a 2 × 5 torus by default (degree 3: the two rows are each other's up and down).
    expect(new Set(deg({ kind: 'torus' }, 10))).toEqual(new Set([3]));
  });

  it('impossible parameters are refused with a reason', () => {
    expect(() => makeGraph(5, { kind: 'random-regular', degree: 3 }, createRng(0))).toThrow(/even/);
    expect(() => makeGraph(7, { kind: 'torus', rows: 2 }, createRng(0))).toThrow(/rows/);
    expect(() => makeGraph(8, { kind: 'small-world', k: 3, beta: 0.1 }, createRng(0))).toThrow(/even/);
  });
});

describe('mixing weights and spectral gap', () => {
  it('Metropolis–Hastings weights are symmetric and doubly stochastic', () => {
    const g = makeGraph(12, { kind: 'erdos-renyi', p: 0.3 }, createRng(3));
    const w = mixingMatrix(g, mixingWeights(g, 'metropolis'));
    for (let i = 0; i < 12; i++) {
      expect(w[i].reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
      expect(w.reduce((a, row) => a + row[i], 0)).toBeCloseTo(1, 12);
      for (let j = 0; j < 12; j++) expect(w[i][j]).toBeCloseTo(w[j][i], 15);
    }
  });

  it('the spectral gap of a ring matches the closed form, and a complete graph mixes in one step', () => {
    // Ring with MH weights 1/3: λ₂ = 1/3 + 2/3·cos(2π/n).
    for (const n of [8, 16]) {
      const g = makeGraph(n, { kind: 'ring' }, createRng(0));
      expect(spectralGap(g, mixingWeights(g, 'metropolis'))).toBeCloseTo(1 - (1 / 3 + (2 / 3) * Math.cos((2 * Math.PI) / n)), 9);
    }
    expect(spectralGap(makeGraph(8, { kind: 'ring' }, createRng(0)), mixingWeights(makeGraph(8, { kind: 'ring' }, createRng(0)), 'metropolis'))).toBeCloseTo(0.1953, 4);
    const k = makeGraph(8, { kind: 'complete' }, createRng(0));
    expect(spectralGap(k, mixingWeights(k, 'metropolis'))).toBeCloseTo(1, 9);
  });
});

describe('schedules', () => {
  it('one-peer exponential: one in-neighbour per round at distance 2^((r−1) mod log2 n)', () => {
    const s = createSchedule(8, { kind: 'ring' }, { kind: 'one-peer-exponential' }, 0);
    for (let r = 1; r <= 6; r++) {
      const hop = 2 ** ((r - 1) % 3);
      s.graphAt(r).neighbours.forEach((ns, i) => expect(ns).toEqual([(i - hop + 8) % 8]));
    }
  });

  it('random matching pairs agents, reproducibly per seed, and changes between rounds', () => {
    const a = createSchedule(10, { kind: 'ring' }, { kind: 'random-matching' }, 7);
    const b = createSchedule(10, { kind: 'ring' }, { kind: 'random-matching' }, 7);
    for (let r = 1; r <= 4; r++) {
      const g = a.graphAt(r);
      g.neighbours.forEach((ns, i) => {
        expect(ns).toHaveLength(1);
        expect(g.neighbours[ns[0]]).toEqual([i]);
      });
      expect(b.graphAt(r).neighbours).toEqual(g.neighbours);
    }
    expect(a.graphAt(1).neighbours).not.toEqual(a.graphAt(2).neighbours);
  });

  it('resample redraws a random topology every k rounds', () => {
    const s = createSchedule(12, { kind: 'erdos-renyi', p: 0.4 }, { kind: 'resample', every: 2 }, 1);
    expect(s.graphAt(2)).toBe(s.graphAt(1));
    expect(s.graphAt(3).neighbours).not.toEqual(s.graphAt(1).neighbours);
  });
});

describe('gossip flood model', () => {
  it('a message crosses 2|E| − (n − 1) links: publisher to all its links, everyone else to all but the sender', () => {
    for (const [n, spec] of [[8, { kind: 'ring' }], [9, { kind: 'torus' }], [6, { kind: 'complete' }], [10, { kind: 'star' }]] as const) {
      const g = makeGraph(n, spec as TopologySpec, createRng(0));
      const links = undirectedLinks(g.neighbours);
      const E = edgeList(g).length;
      for (const origin of [0, n - 1]) {
        const f = flood(links, origin);
        const sends = f.sends.reduce((a, b) => a + b, 0);
        expect(sends, `${spec.kind} from ${origin}`).toBe(2 * E - (n - 1));
        expect(f.receives.reduce((a, b) => a + b, 0)).toBe(sends);
        for (let k = 0; k < n; k++) if (k !== origin) expect(f.receives[k]).toBeGreaterThanOrEqual(1);
      }
    }
  });

  it('a down agent neither receives nor forwards (a ring splits into a line)', () => {
    const links = undirectedLinks(makeGraph(8, { kind: 'ring' }, createRng(0)).neighbours);
    const f = flood(links, 0, (k) => k === 4);
    expect(f.receives[4]).toBe(0);
    expect(f.sends[4]).toBe(0);
    // 0 → 1, 7; then 1 → 2 → 3 and 7 → 6 → 5, and 3, 5 have no one further.
    expect(f.sends.reduce((a, b) => a + b, 0)).toBe(6);
  });

  it('the envelope is gossipsub\'s signed message framing: ~150 bytes plus the topic', () => {
    const topic = '/mergemesh/1/run/default';
    const e = gossipEnvelopeBytes(300, topic);
    expect(e - 300).toBeGreaterThan(120 + topic.length);
    expect(e - 300).toBeLessThan(150 + topic.length);
  });
});
