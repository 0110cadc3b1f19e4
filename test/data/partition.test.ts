// Partitioners: every sample at most once, the promised label structure, seeded.
import { describe, expect, it } from 'vitest';
import { loadDataset } from '../../node/data/load.js';
import { partition, type PartitionSpec } from '../../node/data/partition.js';
import { createRng } from '../../node/util/rng.js';

const labels = loadDataset('mnist', 'train').labels;

function classesOf(part: Int32Array): Map<number, number> {
  const m = new Map<number, number>();
  for (const i of part) m.set(labels[i], (m.get(labels[i]) ?? 0) + 1);
  return m;
}

function disjoint(parts: Int32Array[]): boolean {
  const seen = new Uint8Array(labels.length);
  for (const p of parts) for (const i of p) {
    if (seen[i]) return false;
    seen[i] = 1;
  }
  return true;
}

describe('partition', () => {
  it('iid: equal shards with every class in each, covering the whole set', () => {
    const parts = partition(labels, 10, 8, { kind: 'iid' }, createRng(1));
    expect(disjoint(parts)).toBe(true);
    expect(parts.reduce((a, p) => a + p.length, 0)).toBe(60_000);
    for (const p of parts) {
      expect(Math.abs(p.length - 7500)).toBeLessThanOrEqual(10);
      const c = classesOf(p);
      expect(c.size).toBe(10);
      // Stratified: each class share within 1 % of the global share.
      expect(Math.abs(c.get(1)! / p.length - 6742 / 60_000)).toBeLessThan(0.01);
    }
  });

  it('k classes per agent: exactly k classes each (DIMAT non-IID)', () => {
    const parts = partition(labels, 10, 5, { kind: 'classes', perAgent: 2 }, createRng(2));
    expect(disjoint(parts)).toBe(true);
    for (const p of parts) expect(classesOf(p).size).toBe(2);
    const parts8 = partition(labels, 10, 8, { kind: 'classes', perAgent: 2 }, createRng(2));
    expect(disjoint(parts8)).toBe(true);
    for (const p of parts8) expect(classesOf(p).size).toBe(2);
  });

  it('dirichlet: small α concentrates labels, large α approaches IID', () => {
    const skew = (spec: PartitionSpec) => {
      const parts = partition(labels, 10, 6, spec, createRng(3));
      expect(disjoint(parts)).toBe(true);
      // Mean share of each agent's most common class.
      return parts.reduce((a, p) => a + Math.max(...classesOf(p).values()) / Math.max(p.length, 1), 0) / parts.length;
    };
    const low = skew({ kind: 'dirichlet', alpha: 0.1 });
    const high = skew({ kind: 'dirichlet', alpha: 100 });
    expect(low).toBeGreaterThan(0.5);
    expect(high).toBeLessThan(0.15);
  });

  it('is deterministic for a seed and differs across seeds', () => {
    const a = partition(labels, 10, 4, { kind: 'dirichlet', alpha: 0.5 }, createRng(9));
    const b = partition(labels, 10, 4, { kind: 'dirichlet', alpha: 0.5 }, createRng(9));
    const c = partition(labels, 10, 4, { kind: 'dirichlet', alpha: 0.5 }, createRng(10));
    expect(a.map((p) => Array.from(p))).toEqual(b.map((p) => Array.from(p)));
    expect(a[0].length === c[0].length && a[0].every((v, i) => v === c[0][i])).toBe(false);
  });

  it.each([
    [{ kind: 'dirichlet', alpha: 0 } as PartitionSpec, /alpha must be > 0/],
    [{ kind: 'classes', perAgent: 11 } as PartitionSpec, /classes per agent/],
  ])('rejects %j', (spec, msg) => {
    expect(() => partition(labels, 10, 4, spec, createRng(1))).toThrow(msg);
  });
});
