// Linear assignment against brute force and an independently written Hungarian method.
import { describe, expect, it } from 'vitest';
import { linearAssignment } from '../../node/tensor/linalg/lap.js';
import { createRng } from '../../node/util/rng.js';

/** Textbook O(n²m) Hungarian algorithm with potentials (n ≤ m), minimising. */
function hungarian(cost: ArrayLike<number>, n: number, m: number): number {
  const a = (i: number, j: number) => cost[(i - 1) * m + (j - 1)];
  const u = new Array<number>(n + 1).fill(0);
  const v = new Array<number>(m + 1).fill(0);
  const p = new Array<number>(m + 1).fill(0);
  const way = new Array<number>(m + 1).fill(0);
  for (let i = 1; i <= n; i++) {
    p[0] = i;
    let j0 = 0;
    const minv = new Array<number>(m + 1).fill(Infinity);
    const used = new Array<boolean>(m + 1).fill(false);
    do {
      used[j0] = true;
      const i0 = p[j0];
      let delta = Infinity;
      let j1 = 0;
      for (let j = 1; j <= m; j++) {
        if (used[j]) continue;
        const cur = a(i0, j) - u[i0] - v[j];
        if (cur < minv[j]) {
          minv[j] = cur;
          way[j] = j0;
        }
        if (minv[j] < delta) {
          delta = minv[j];
          j1 = j;
        }
      }
      for (let j = 0; j <= m; j++) {
        if (used[j]) {
          u[p[j]] += delta;
          v[j] -= delta;
        } else minv[j] -= delta;
      }
      j0 = j1;
    } while (p[j0] !== 0);
    do {
      const j1 = way[j0];
      p[j0] = p[j1];
      j0 = j1;
    } while (j0);
  }
  let total = 0;
  for (let j = 1; j <= m; j++) if (p[j]) total += a(p[j], j);
  return total;
}

/** Exhaustive minimum over injective row → column maps. */
function bruteForce(cost: ArrayLike<number>, n: number, m: number): number {
  let best = Infinity;
  const used = new Array<boolean>(m).fill(false);
  const rec = (i: number, acc: number) => {
    if (i === n) {
      best = Math.min(best, acc);
      return;
    }
    for (let j = 0; j < m; j++) {
      if (used[j]) continue;
      used[j] = true;
      rec(i + 1, acc + cost[i * m + j]);
      used[j] = false;
    }
  };
  rec(0, 0);
  return best;
}

function validAssignment(rowToCol: Int32Array, rows: number, cols: number): boolean {
  const seen = new Set<number>();
  let assigned = 0;
  for (const c of rowToCol) {
    if (c < 0) continue;
    if (c >= cols || seen.has(c)) return false;
    seen.add(c);
    assigned++;
  }
  return assigned === Math.min(rows, cols);
}

const kinds = {
  uniform: (r: ReturnType<typeof createRng>) => r.next(),
  ties: (r: ReturnType<typeof createRng>) => r.int(3),
  negative: (r: ReturnType<typeof createRng>) => r.normal() * 100,
};

describe('linear assignment', () => {
  it('equals brute force on every small case tried (square, rectangular, ties, min and max)', () => {
    let cases = 0;
    for (let seed = 0; seed < 60; seed++) {
      const r = createRng(seed);
      for (const [kind, gen] of Object.entries(kinds)) {
        const rows = 1 + r.int(6);
        const cols = 1 + r.int(6);
        const cost = Float64Array.from({ length: rows * cols }, () => gen(r));
        for (const maximize of [false, true]) {
          const res = linearAssignment(cost, rows, cols, { maximize });
          expect(validAssignment(res.rowToCol, rows, cols), `${kind} ${rows}x${cols}`).toBe(true);
          // Brute force over the orientation with rows ≤ columns.
          const t = rows <= cols ? cost : Float64Array.from({ length: rows * cols }, (_, k) => cost[(k % rows) * cols + Math.floor(k / rows)]);
          const signed = Float64Array.from(t, (x) => (maximize ? -x : x));
          const want = bruteForce(signed, Math.min(rows, cols), Math.max(rows, cols)) * (maximize ? -1 : 1);
          expect(res.objective, `${kind} ${rows}x${cols} max=${maximize}`).toBeCloseTo(want, 9);
          cases++;
        }
      }
    }
    expect(cases).toBe(360);
  });

  it.each([
    ['uniform', 256, 256],
    ['ties', 256, 256],
    ['negative', 256, 256],
    ['uniform', 200, 256],
  ] as const)('matches an independent Hungarian on random %s %i×%i within 1e-9', (kind, n, m) => {
    const r = createRng(n * 7 + m);
    const cost = Float64Array.from({ length: n * m }, () => kinds[kind](r));
    const res = linearAssignment(cost, n, m);
    expect(validAssignment(res.rowToCol, n, m)).toBe(true);
    const want = hungarian(cost, n, m);
    expect(Math.abs(res.objective - want) / Math.max(1, Math.abs(want))).toBeLessThan(1e-9);
    const maxRes = linearAssignment(cost, n, m, { maximize: true });
    const wantMax = -hungarian(Float64Array.from(cost, (x) => -x), n, m);
    expect(Math.abs(maxRes.objective - wantMax) / Math.max(1, Math.abs(wantMax))).toBeLessThan(1e-9);
  });

  // The sparse solver exposes 8 columns per row and widens rows during the search; these are
  // the shapes that force widening: ties, constant (dead-unit) rows and columns, skinny and tall.
  const degenerate = (r: ReturnType<typeof createRng>, n: number, m: number): Float64Array => {
    const c = Float64Array.from({ length: n * m }, () => r.normal());
    for (let i = 0; i < n; i++) if (r.next() < 0.15) c.fill(0, i * m, (i + 1) * m);
    for (let j = 0; j < m; j++) if (r.next() < 0.15) for (let i = 0; i < n; i++) c[i * m + j] = 0;
    return c;
  };
  it.each([
    ['uniform', 300, 300],
    ['ties', 300, 300],
    ['degenerate', 260, 260],
    ['degenerate', 150, 260],
    ['negative', 260, 150],
    // All ties, and a rank-1 matrix whose searches run long and flat: the sparse solver hands
    // the remaining rows to the dense searches there.
    ['constant', 200, 200],
    ['rank1', 200, 200],
  ] as const)('sparse and dense solvers both equal the Hungarian on %s %i×%i (min and max)', (kind, n, m) => {
    const r = createRng(n * 13 + m);
    const cost =
      kind === 'degenerate'
        ? degenerate(r, n, m)
        : kind === 'constant'
          ? new Float64Array(n * m).fill(3)
          : kind === 'rank1'
            ? Float64Array.from({ length: n * m }, (_, k) => Math.floor(k / m) * (k % m))
            : Float64Array.from({ length: n * m }, () => kinds[kind](r));
    const t = n <= m ? cost : Float64Array.from({ length: n * m }, (_, k) => cost[(k % n) * m + Math.floor(k / n)]);
    const [a, b] = [Math.min(n, m), Math.max(n, m)];
    for (const maximize of [false, true]) {
      const want = hungarian(maximize ? Float64Array.from(t, (x) => -x) : t, a, b) * (maximize ? -1 : 1);
      for (const solver of ['sparse', 'dense'] as const) {
        const res = linearAssignment(cost, n, m, { maximize, solver });
        expect(validAssignment(res.rowToCol, n, m)).toBe(true);
        expect(Math.abs(res.objective - want) / Math.max(1, Math.abs(want)), `${solver} max=${maximize}`).toBeLessThan(1e-9);
      }
    }
  });

  it('solves sparse problems with forbidden (+∞) pairs exactly', () => {
    // Each row may only use a band of columns: the sparse solver's lists cannot see the
    // infinite entries, and a forced detour must still be found.
    const n = 200;
    const r = createRng(77);
    const cost = new Float64Array(n * n).fill(Infinity);
    for (let i = 0; i < n; i++) for (let d = -3; d <= 3; d++) cost[i * n + ((i + d + n) % n)] = r.next();
    const dense = linearAssignment(cost, n, n, { solver: 'dense' });
    const sparse = linearAssignment(cost, n, n, { solver: 'sparse' });
    expect(Number.isFinite(dense.objective)).toBe(true);
    expect(validAssignment(sparse.rowToCol, n, n)).toBe(true);
    expect(sparse.objective).toBeCloseTo(dense.objective, 9);
  });

  it('a warm start from a previous solution gives the same optimum on a changed matrix', () => {
    const n = 200;
    const r = createRng(31);
    for (const solver of ['sparse', 'dense'] as const) {
      for (const noise of [1e-3, 0.3, 5]) {
        const a = Float64Array.from({ length: n * n }, () => r.normal());
        const first = linearAssignment(a, n, n, { maximize: true, solver });
        expect(first.duals).toHaveLength(n);
        const b = Float64Array.from(a, (x) => x + noise * r.normal());
        const cold = linearAssignment(b, n, n, { maximize: true, solver });
        const warm = linearAssignment(b, n, n, { maximize: true, solver, warmStart: { rowToCol: first.rowToCol, duals: first.duals! } });
        expect(validAssignment(warm.rowToCol, n, n)).toBe(true);
        expect(Math.abs(warm.objective - cold.objective) / Math.abs(cold.objective), `${solver} noise ${noise}`).toBeLessThan(1e-12);
      }
    }
  });

  it('rejects a warm start that does not fit the problem', () => {
    const c = Float64Array.of(1, 2, 3, 4);
    const duals = new Float64Array(2);
    expect(() => linearAssignment(c, 2, 2, { warmStart: { rowToCol: Int32Array.of(0, 0), duals } })).toThrow(/not a permutation/);
    expect(() => linearAssignment(c, 2, 2, { warmStart: { rowToCol: Int32Array.of(0), duals } })).toThrow(/warm start for 1 rows/);
    expect(() => linearAssignment(c, 1, 4, { warmStart: { rowToCol: Int32Array.of(0), duals } })).toThrow(/square/);
    expect(() => linearAssignment(c, 2, 2, { warmStart: { rowToCol: Int32Array.of(1, 0), duals: Float64Array.of(0, NaN) } })).toThrow(/non-finite/);
  });

  it('handles more rows than columns (unmatched rows get −1)', () => {
    const cost = Float64Array.of(5, 1, 2, 9, 3, 3); // 3×2
    const res = linearAssignment(cost, 3, 2);
    expect(res.objective).toBe(3); // rows 1→col 0 (2)? brute: choose 2 of 3 rows
    expect(Array.from(res.rowToCol).filter((c) => c < 0)).toHaveLength(1);
  });

  it('recovers a planted permutation from a noisy score matrix', () => {
    const n = 300;
    const r = createRng(5);
    const p = Int32Array.from({ length: n }, (_, i) => i);
    r.shuffle(p);
    const score = Float64Array.from({ length: n * n }, () => r.next());
    for (let i = 0; i < n; i++) score[i * n + p[i]] += 1.5;
    const res = linearAssignment(score, n, n, { maximize: true });
    expect(Array.from(res.rowToCol)).toEqual(Array.from(p));
  });

  it('rejects NaN and bad shapes', () => {
    expect(() => linearAssignment([1, NaN, 3, 4], 2, 2)).toThrow(/NaN/);
    expect(() => linearAssignment([1, 2, 3], 2, 2)).toThrow(/3 costs/);
  });
});
