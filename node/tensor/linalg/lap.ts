// Exact linear assignment in float64: Jonker–Volgenant's initialisation (column reduction,
// reduction transfer, augmenting row reduction) assigns most rows cheaply, then the
// shortest augmenting path method (as in Crouse 2016 / scipy's linear_sum_assignment)
// matches the remaining rows one at a time along Dijkstra paths in the reduced costs. The
// dual variables keep every reduced cost non-negative, so each path is optimal and the
// final matching exact.

export interface Assignment {
  /** col[i] is the column assigned to row i (rows ≤ columns), or the row→col map of the original orientation. */
  readonly rowToCol: Int32Array;
  /** Σ cost[i, rowToCol[i]] over assigned rows. */
  readonly objective: number;
}

export interface LapOptions {
  /** Maximise the total instead of minimising it (default false). */
  readonly maximize?: boolean;
}

/**
 * Solves the assignment problem for an r×c cost matrix (row-major). With r ≤ c every row gets
 * a distinct column; with r > c every column gets a distinct row and the unmatched rows map
 * to −1.
 */
export function linearAssignment(cost: ArrayLike<number>, rows: number, cols: number, opts: LapOptions = {}): Assignment {
  if (!Number.isInteger(rows) || !Number.isInteger(cols) || rows < 0 || cols < 0) throw new Error(`lap: bad shape ${rows}×${cols}`);
  if (cost.length !== rows * cols) throw new Error(`lap: ${cost.length} costs for a ${rows}×${cols} matrix`);
  const sign = opts.maximize ? -1 : 1;
  const transpose = rows > cols;
  const n = transpose ? cols : rows;
  const m = transpose ? rows : cols;
  // Work on a square copy with the sign applied, so the core only minimises. Extra columns
  // get zero-cost dummy rows: JV's column reduction gives every column a dual, which is only
  // optimal when every column ends up assigned.
  const c = new Float64Array(m * m);
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) {
      const v = cost[i * cols + j] * sign;
      if (Number.isNaN(v) || v === -Infinity) throw new Error(`lap: cost[${i}, ${j}] is ${cost[i * cols + j]}`);
      if (transpose) c[j * m + i] = v;
      else c[i * m + j] = v;
    }
  }
  const col4row = solveMin(c, m, m).subarray(0, n);
  const rowToCol = new Int32Array(rows).fill(-1);
  if (transpose) {
    for (let j = 0; j < n; j++) rowToCol[col4row[j]] = j;
  } else {
    rowToCol.set(col4row);
  }
  let objective = 0;
  for (let i = 0; i < rows; i++) if (rowToCol[i] >= 0) objective += cost[i * cols + rowToCol[i]];
  return { rowToCol, objective };
}

/** Minimum-cost assignment of an n×m matrix (n ≤ m; called with n = m); returns the column of each row. */
function solveMin(cost: Float64Array, n: number, m: number): Int32Array {
  const v = new Float64Array(m);
  const col4row = new Int32Array(n).fill(-1);
  const row4col = new Int32Array(m).fill(-1);
  const free = initialise(cost, n, m, v, col4row, row4col);
  // Row duals from the invariant "each assigned row's column minimises c − v".
  const u = new Float64Array(n);
  for (let i = 0; i < n; i++) if (col4row[i] >= 0) u[i] = cost[i * m + col4row[i]] - v[col4row[i]];
  augmentAll(cost, n, m, u, v, col4row, row4col, free);
  return col4row;
}

/**
 * Jonker–Volgenant initialisation. Afterwards every assigned row's column attains
 * min_j (c[i][j] − v[j]); returns the rows left free.
 */
function initialise(cost: Float64Array, n: number, m: number, v: Float64Array, col4row: Int32Array, row4col: Int32Array): Int32Array {
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
  for (let pass = 0; pass < 2 && nFree > 0; pass++) {
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
function augmentAll(
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
    // Dual update keeps reduced costs non-negative along the tree just explored.
    u[cur] += minVal;
    for (let k = 0; k < nRows; k++) {
      const r = rowsSeen[k];
      if (r !== cur) u[r] += minVal - settled[col4row[r]];
    }
    for (let k = 0; k < nCols; k++) {
      const j = colsSeen[k];
      v[j] -= minVal - settled[j];
    }
    // Augment along the path back to the current row.
    let j = sink;
    for (;;) {
      const r = path[j];
      row4col[j] = r;
      const prev = col4row[r];
      col4row[r] = j;
      j = prev;
      if (r === cur) break;
    }
  }
}
