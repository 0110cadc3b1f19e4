// The dense core of the exact linear assignment: Jonker–Volgenant's initialisation (column
// reduction, reduction transfer, augmenting row reduction) assigns most rows cheaply, then the
// shortest augmenting path method (as in Crouse 2016 / scipy's linear_sum_assignment) matches
// the remaining rows one at a time along Dijkstra paths in the reduced costs. The dual
// variables keep every reduced cost non-negative, so each path is optimal and the final
// matching exact.

/** A previous solution of a similar problem: its matching and column duals. */
export interface WarmStart {
  readonly rowToCol: Int32Array;
  readonly duals: Float64Array;
}

export interface Solution {
  readonly col4row: Int32Array;
  /** Column duals: every row's column minimises c[i][j] − v[j]. */
  readonly v: Float64Array;
}

/** Minimum-cost assignment of a square n×n matrix (row-major). */
export function solveDense(cost: Float64Array, n: number, start?: WarmStart): Solution {
  const m = n;
  const v = new Float64Array(m);
  const col4row = new Int32Array(n).fill(-1);
  const row4col = new Int32Array(m).fill(-1);
  const free = start ? warmStart(cost, n, start, v, col4row, row4col) : initialise(cost, n, m, v, col4row, row4col);
  // Row duals from the invariant "each assigned row's column minimises c − v".
  const u = new Float64Array(n);
  for (let i = 0; i < n; i++) if (col4row[i] >= 0) u[i] = cost[i * m + col4row[i]] - v[col4row[i]];
  augmentAll(cost, n, m, u, v, col4row, row4col, free);
  return { col4row, v };
}

/**
 * Starts from a previous solution instead of JV's initialisation: with its column duals, a row
 * keeps its previous column when that column still minimises c − v, and is left free
 * otherwise. When the matrix changed little (weight matching's later sweeps) almost every row
 * keeps its column, so the solve is one pass over the matrix plus a few short searches.
 */
export function warmStart(cost: Float64Array, n: number, start: WarmStart, v: Float64Array, col4row: Int32Array, row4col: Int32Array): Int32Array {
  v.set(start.duals);
  const free: number[] = [];
  for (let i = 0; i < n; i++) {
    const base = i * n;
    const j0 = start.rowToCol[i];
    const own = cost[base + j0] - v[j0];
    let keep = true;
    for (let j = 0; j < n; j++) {
      if (cost[base + j] - v[j] < own) {
        keep = false;
        break;
      }
    }
    if (keep) {
      col4row[i] = j0;
      row4col[j0] = i;
    } else free.push(i);
  }
  return Int32Array.from(free);
}

/**
 * Jonker–Volgenant initialisation. Afterwards every assigned row's column attains
 * min_j (c[i][j] − v[j]); returns the rows left free.
 */
export function initialise(cost: Float64Array, n: number, m: number, v: Float64Array, col4row: Int32Array, row4col: Int32Array, arrPasses = 2): Int32Array {
  const matches = new Int32Array(n);
  // Column reduction: v[j] = min_i c[i][j] (scanned row by row: the matrix is row-major);
  // a row that is the minimum of one column takes it.
  const argmin = new Int32Array(m);
  v.fill(Infinity);
  for (let i = 0; i < n; i++) {
    const base = i * m;
    for (let j = 0; j < m; j++) {
      const c = cost[base + j];
      if (c < v[j]) {
        v[j] = c;
        argmin[j] = i;
      }
    }
  }
  for (let j = m - 1; j >= 0; j--) {
    const imin = argmin[j];
    // A row that is the minimum of several columns keeps the first: all are tight for it.
    if (++matches[imin] === 1) {
      col4row[imin] = j;
      row4col[j] = imin;
    }
  }
  // Reduction transfer: make a row's only column tight against its second-best column.
  let free = new Int32Array(n);
  let nFree = 0;
  for (let i = 0; i < n; i++) {
    if (matches[i] === 0) {
      free[nFree++] = i;
      continue;
    }
    if (matches[i] !== 1) continue;
    const j1 = col4row[i];
    let min = Infinity;
    const base = i * m;
    for (let j = 0; j < m; j++) if (j !== j1) min = Math.min(min, cost[base + j] - v[j]);
    if (min !== Infinity) v[j1] -= min - (cost[base + j1] - v[j1]);
  }
  // Augmenting row reduction, twice (as lapjv; more passes measured no faster here): a free
  // row takes its best column, pushing out its owner.
  for (let pass = 0; pass < arrPasses && nFree > 0; pass++) {
    const todo = free.slice(0, nFree);
    let k = 0;
    const limit = todo.length;
    nFree = 0;
    const next = new Int32Array(n);
    let steps = 0;
    while (k < limit) {
      const i = todo[k++];
      const base = i * m;
      let umin = Infinity;
      let usub = Infinity;
      let j1 = -1;
      let j2 = -1;
      for (let j = 0; j < m; j++) {
        const h = cost[base + j] - v[j];
        if (h < usub) {
          if (h >= umin) {
            usub = h;
            j2 = j;
          } else {
            usub = umin;
            umin = h;
            j2 = j1;
            j1 = j;
          }
        }
      }
      let i0 = row4col[j1];
      if (usub === Infinity) {
        // A single column: nothing to reduce against.
      } else if (umin < usub) {
        v[j1] -= usub - umin;
      } else if (i0 >= 0 && j2 >= 0) {
        j1 = j2;
        i0 = row4col[j2];
      }
      if (i0 >= 0) col4row[i0] = -1;
      col4row[i] = j1;
      row4col[j1] = i;
      if (i0 >= 0) {
        // A strict improvement re-processes the evicted row at once (bounded, as in lapjv).
        if (umin < usub && usub !== Infinity && steps++ < n) todo[--k] = i0;
        else next[nFree++] = i0;
      }
    }
    free = next;
  }
  return free.slice(0, nFree);
}

/** Shortest augmenting paths from each free row (Crouse's formulation of the JV augmentation). */
export function augmentAll(
  cost: Float64Array,
  n: number,
  m: number,
  u: Float64Array,
  v: Float64Array,
  col4row: Int32Array,
  row4col: Int32Array,
  freeRows: Int32Array,
): void {
  const shortest = new Float64Array(m);
  // Distance of each column when it left the scan (its `shortest` entry is then NaN).
  const settled = new Float64Array(m);
  const path = new Int32Array(m);
  const rowsSeen = new Int32Array(n);
  const colsSeen = new Int32Array(m);

  for (const cur of freeRows) {
    // Any u[cur] works for the first step; the minimum keeps the tree's costs non-negative.
    let best = Infinity;
    for (let j = 0; j < m; j++) best = Math.min(best, cost[cur * m + j] - v[j]);
    u[cur] = best;
    shortest.fill(Infinity);
    let nRows = 0;
    let nCols = 0;
    let minVal = 0;
    let i = cur;
    let sink = -1;
    while (sink < 0) {
      rowsSeen[nRows++] = i;
      let jBest = -1;
      let lowest = Infinity;
      const base = i * m;
      const offset = minVal - u[i];
      // Columns in natural order so the cost row, duals and distances stream through the
      // cache; settled columns hold NaN, which fails every comparison below.
      for (let j = 0; j < m; j++) {
        let d = shortest[j];
        const r = offset + cost[base + j] - v[j];
        if (r < d) {
          path[j] = i;
          shortest[j] = d = r;
        }
        // Ties go to an unassigned column: it ends the search immediately.
        if (d < lowest || (d === lowest && row4col[j] < 0)) {
          lowest = d;
          jBest = j;
        }
      }
      if (lowest === Infinity) throw new Error('lap: infeasible (infinite costs everywhere)');
      minVal = lowest;
      const j = jBest;
      if (row4col[j] < 0) sink = j;
      else i = row4col[j];
      settled[j] = lowest;
      shortest[j] = NaN;
      colsSeen[nCols++] = j;
    }
    finishSearch(u, v, col4row, row4col, { cur, sink, minVal, colDist: settled, pred: path, rowsSeen, nRows, colsSeen, nCols });
  }
}

/** A finished Dijkstra search from free row `cur` to free column `sink`. */
export interface SearchTree {
  readonly cur: number;
  readonly sink: number;
  /** Distance of the sink. */
  readonly minVal: number;
  /** Distance at which each settled column left the search. */
  readonly colDist: Float64Array;
  /** The row each column was reached from. */
  readonly pred: Int32Array;
  readonly rowsSeen: Int32Array;
  readonly nRows: number;
  readonly colsSeen: Int32Array;
  readonly nCols: number;
}

/**
 * The JV step shared by the dense and sparse searches: the dual update keeps every reduced cost
 * non-negative on the tree just explored, then the matching flips along the path to `cur`.
 */
export function finishSearch(u: Float64Array, v: Float64Array, col4row: Int32Array, row4col: Int32Array, t: SearchTree): void {
  const { cur, minVal, colDist, pred } = t;
  u[cur] += minVal;
  for (let k = 0; k < t.nRows; k++) {
    const r = t.rowsSeen[k];
    if (r !== cur) u[r] += minVal - colDist[col4row[r]];
  }
  for (let k = 0; k < t.nCols; k++) {
    const j = t.colsSeen[k];
    v[j] -= minVal - colDist[j];
  }
  let j = t.sink;
  for (;;) {
    const r = pred[j];
    row4col[j] = r;
    const prev = col4row[r];
    col4row[r] = j;
    j = prev;
    if (r === cur) break;
  }
}
