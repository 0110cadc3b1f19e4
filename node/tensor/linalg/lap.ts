// Exact linear assignment in float64, square or rectangular, minimising or maximising. Small
// problems run the dense Jonker–Volgenant solver (lap-jv.ts); from 128 rows up the same
// shortest-path searches expose only a few columns per row and widen a row whenever its hidden
// columns could matter (lap-sparse.ts). Both return the optimum.

import { solveDense, type WarmStart } from './lap-jv.js';
import { solveSparse } from './lap-sparse.js';

export interface Assignment {
  /** rowToCol[i] is the column assigned to row i, or −1 for a row left unmatched (rows > columns). */
  readonly rowToCol: Int32Array;
  /** Σ cost[i, rowToCol[i]] over assigned rows. */
  readonly objective: number;
  /**
   * Square problems only: the column duals of the solution, to pass back as `warmStart` when
   * solving a slightly changed matrix with the same `maximize`.
   */
  readonly duals?: Float64Array;
}

export interface LapOptions {
  /** Maximise the total instead of minimising it (default false). */
  readonly maximize?: boolean;
  /**
   * Which exact solver: 'dense' scans whole rows, 'sparse' exposes a few columns per row and
   * widens rows on demand; 'auto' (default) picks sparse from 128 rows up. Same optimum.
   */
  readonly solver?: 'auto' | 'dense' | 'sparse';
  /**
   * Square problems only: a previous solution (its rowToCol and duals) to start from. Exact
   * either way; fast when the matrix changed little.
   */
  readonly warmStart?: WarmStart;
}

/** Columns a row exposes at a time in the sparse solver (4–32 measured; 8 fastest on uniform and correlation matrices). */
const SPARSE_CANDIDATES = 8;
const SPARSE_FROM = 128;

/**
 * Solves the assignment problem for an r×c cost matrix (row-major). With r ≤ c every row gets
 * a distinct column; with r > c every column gets a distinct row and the unmatched rows map
 * to −1.
 */
export function linearAssignment(cost: ArrayLike<number>, rows: number, cols: number, opts: LapOptions = {}): Assignment {
  if (!Number.isInteger(rows) || !Number.isInteger(cols) || rows < 0 || cols < 0) throw new Error(`lap: bad shape ${rows}×${cols}`);
  if (cost.length !== rows * cols) throw new Error(`lap: ${cost.length} costs for a ${rows}×${cols} matrix`);
  const start = opts.warmStart;
  if (start) checkWarmStart(start, rows, cols);
  const transpose = rows > cols;
  const n = transpose ? cols : rows;
  const m = transpose ? rows : cols;
  const c = squareCopy(cost, rows, cols, opts.maximize ? -1 : 1);
  const solver = opts.solver ?? 'auto';
  const sparse = solver === 'sparse' || (solver === 'auto' && m >= SPARSE_FROM);
  const solution = (sparse ? solveSparse(c, m, SPARSE_CANDIDATES, start) : null) ?? solveDense(c, m, start);
  const col4row = solution.col4row.subarray(0, n);
  const rowToCol = new Int32Array(rows).fill(-1);
  if (transpose) {
    for (let j = 0; j < n; j++) rowToCol[col4row[j]] = j;
  } else {
    rowToCol.set(col4row);
  }
  let objective = 0;
  for (let i = 0; i < rows; i++) if (rowToCol[i] >= 0) objective += cost[i * cols + rowToCol[i]];
  return rows === cols ? { rowToCol, objective, duals: solution.v } : { rowToCol, objective };
}

function checkWarmStart(start: WarmStart, rows: number, cols: number): void {
  const n = start.rowToCol.length;
  if (rows !== cols) throw new Error(`lap: a warm start needs a square problem, not ${rows}×${cols}`);
  if (n !== rows || start.duals.length !== rows) throw new Error(`lap: warm start for ${n} rows and ${start.duals.length} duals on a ${rows}×${cols} problem`);
  const seen = new Uint8Array(n);
  for (const j of start.rowToCol) {
    if (!(j >= 0 && j < n) || seen[j]) throw new Error('lap: the warm start is not a permutation');
    seen[j] = 1;
  }
  for (const d of start.duals) if (!Number.isFinite(d)) throw new Error('lap: the warm start has non-finite duals');
}

// The working matrix is kept between calls (up to 2048², 32 MiB): a fresh multi-megabyte array
// costs a page fault per 4 KiB on first write (7 ms of a 1024² solve here), and weight
// matching solves hundreds.
const KEEP_UP_TO = 2048 * 2048;
let work = new Float64Array(0);

/**
 * A square copy with the sign applied (rows ≤ columns orientation), so the solvers only
 * minimise. Extra columns get zero-cost dummy rows: JV's column reduction gives every column a
 * dual, which is only optimal when every column ends up assigned.
 */
function squareCopy(cost: ArrayLike<number>, rows: number, cols: number, sign: number): Float64Array {
  const transpose = rows > cols;
  const m = Math.max(rows, cols);
  let c: Float64Array;
  if (m * m > KEEP_UP_TO) c = new Float64Array(m * m);
  else {
    if (work.length < m * m) work = new Float64Array(m * m);
    c = work.subarray(0, m * m);
  }
  if (rows * cols < m * m) c.fill(0);
  // Float32 input (GEMM results: weight matching copies thousands per simulated round) gets its
  // own loop; one loop reading Float32Array and Float64Array goes megamorphic.
  if (cost instanceof Float32Array) copySigned(cost, c, rows, cols, m, sign, transpose);
  else copySignedAny(cost, c, rows, cols, m, sign, transpose);
  return c;
}

function copySigned(cost: Float32Array, c: Float64Array, rows: number, cols: number, m: number, sign: number, transpose: boolean): void {
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) {
      const v = cost[i * cols + j] * sign;
      if (Number.isNaN(v) || v === -Infinity) badCost(cost, i, j, cols);
      c[transpose ? j * m + i : i * m + j] = v;
    }
  }
}

function copySignedAny(cost: ArrayLike<number>, c: Float64Array, rows: number, cols: number, m: number, sign: number, transpose: boolean): void {
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) {
      const v = cost[i * cols + j] * sign;
      if (Number.isNaN(v) || v === -Infinity) badCost(cost, i, j, cols);
      c[transpose ? j * m + i : i * m + j] = v;
    }
  }
}

function badCost(cost: ArrayLike<number>, i: number, j: number, cols: number): never {
  throw new Error(`lap: cost[${i}, ${j}] is ${cost[i * cols + j]}`);
}
