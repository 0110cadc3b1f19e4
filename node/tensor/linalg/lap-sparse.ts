// Exact linear assignment that scans only a few columns per row. After Jonker–Volgenant's
// dense initialisation (or a warm start), the free rows are matched by Dijkstra searches (the
// same shortest augmenting paths as the dense solver) in which each row exposes only its k
// cheapest reduced costs c[i][j] − v[j], plus a floor: no column outside the list is cheaper
// than it. The column duals v only decrease, so that floor stays valid forever. A search that
// is about to settle a column at distance D first widens every scanned row whose floor could
// put a hidden column below D, so it settles exactly what the dense search would: the result
// is the dense optimum, at O(k) per scanned row instead of O(n) while the gaps in a row exceed
// the path lengths.

import { augmentAll, finishSearch, initialise, warmStart, type Solution, type WarmStart } from './lap-jv.js';
import { MinHeap } from './min-heap.js';

/** Reads (in units of n²) after which the remaining free rows are matched densely. */
const DENSE_AFTER = 8;
const NO_COLS = new Int32Array(0);
const NO_COSTS = new Float64Array(0);

/**
 * Minimum-cost assignment of a square n×n matrix (row-major) exposing `k` columns per row at a
 * time; null when no finite augmenting path exists (only with infinite costs: the caller then
 * solves densely and reports it).
 */
export function solveSparse(cost: Float64Array, n: number, k: number, start?: WarmStart): Solution | null {
  const v = new Float64Array(n);
  const col4row = new Int32Array(n).fill(-1);
  const row4col = new Int32Array(n).fill(-1);
  // No augmenting row reduction: its passes read whole rows, which the sparse searches avoid.
  const free = start ? warmStart(cost, n, start, v, col4row, row4col) : initialise(cost, n, n, v, col4row, row4col, 0);
  // Row duals from the initialisation's invariant (each assigned row's column minimises c − v).
  const u = new Float64Array(n);
  for (let i = 0; i < n; i++) if (col4row[i] >= 0) u[i] = cost[i * n + col4row[i]] - v[col4row[i]];
  const rows = createRows(n, Math.max(1, Math.min(k, n)));
  const s = createSearch(n, row4col);
  for (let f = 0; f < free.length; f++) {
    // Matrices that make searches long and flat (rank-1-like, heavy ties) widen rows again and
    // again; past a few passes' worth of reads the dense searches are cheaper, and the state
    // (matching, u, v) is already a valid start for them.
    if (rows.read > DENSE_AFTER * n * n) {
      augmentAll(cost, n, n, u, v, col4row, row4col, free.subarray(f));
      break;
    }
    const cur = free[f];
    const found = shortestPath(cost, n, rows, u, v, row4col, cur, s);
    if (!found) return null;
    commit(u, v, col4row, row4col, cur, s);
  }
  return { col4row, v };
}

/**
 * Per row, the columns exposed so far and a floor under c[i][j] − v[j] for every other column.
 * Rows start empty with a floor of −∞, so a row is only read in full when a search reaches it.
 */
interface Rows {
  /** Matrix entries read by widening so far. */
  read: number;
  readonly cols: Int32Array[];
  /** cost[i][cols[i][e]], kept next to the indices: scanning reads one short array, not the matrix row. */
  readonly costs: Float64Array[];
  readonly deg: Int32Array;
  readonly floor: Float64Array;
  readonly k: number;
  /** Marks of the columns already listed for the row being widened. */
  readonly mark: Int32Array;
  readonly topH: Float64Array;
  readonly topJ: Int32Array;
  readonly topA: Uint8Array;
}

function createRows(n: number, k: number): Rows {
  return {
    read: 0,
    // One shared empty list per type: widening replaces it before writing (weight matching
    // solves thousands of 128² problems per simulated round; 2n fresh arrays each added up).
    cols: new Array<Int32Array>(n).fill(NO_COLS),
    costs: new Array<Float64Array>(n).fill(NO_COSTS),
    deg: new Int32Array(n),
    floor: new Float64Array(n).fill(-Infinity),
    k,
    mark: new Int32Array(n).fill(-1),
    topH: new Float64Array(k + 1),
    topJ: new Int32Array(k + 1),
    topA: new Uint8Array(k + 1),
  };
}

/**
 * Exposes the next k cheapest unlisted columns of row i (all of them once fewer remain) and
 * raises its floor to the cheapest column still hidden. Returns how many were added; they are
 * the last entries of the row's list.
 */
function widen(cost: Float64Array, n: number, rows: Rows, v: Float64Array, row4col: Int32Array, i: number): number {
  const { mark, topH, topJ, topA } = rows;
  const list0 = rows.cols[i];
  const deg0 = rows.deg[i];
  rows.read += n;
  for (let e = 0; e < deg0; e++) mark[list0[e]] = i;
  // The k + 1 smallest unlisted reduced costs, in a max-heap: most columns fail the first test.
  // Among equal costs a free column ranks first (topA: 1 if assigned), as in the dense
  // solver's tie rule: on a matrix of ties a search then ends at once instead of widening
  // row after row through assigned columns.
  const cap = rows.k + 1;
  let size = 0;
  const base = i * n;
  for (let j = 0; j < n; j++) {
    if (mark[j] === i) continue;
    const h = cost[base + j] - v[j];
    if (size < cap) {
      const a = row4col[j] >= 0 ? 1 : 0;
      let p = size++;
      while (p > 0) {
        const parent = (p - 1) >> 1;
        if (!(topH[parent] < h || (topH[parent] === h && topA[parent] < a))) break;
        topH[p] = topH[parent];
        topJ[p] = topJ[parent];
        topA[p] = topA[parent];
        p = parent;
      }
      topH[p] = h;
      topJ[p] = j;
      topA[p] = a;
    } else if (h <= topH[0]) {
      // Only candidates read the column's owner.
      const a = row4col[j] >= 0 ? 1 : 0;
      if (h === topH[0] && a >= topA[0]) continue;
      let p = 0;
      for (;;) {
        let c = 2 * p + 1;
        if (c >= cap) break;
        if (c + 1 < cap && (topH[c + 1] > topH[c] || (topH[c + 1] === topH[c] && topA[c + 1] > topA[c]))) c++;
        if (!(topH[c] > h || (topH[c] === h && topA[c] > a))) break;
        topH[p] = topH[c];
        topJ[p] = topJ[c];
        topA[p] = topA[c];
        p = c;
      }
      topH[p] = h;
      topJ[p] = j;
      topA[p] = a;
    }
  }
  // With k + 1 found, the largest stays hidden and is the new floor; with fewer, none hide.
  let added = size;
  let floor = Infinity;
  if (size === cap) {
    added = rows.k;
    floor = topH[0];
  }
  let list = list0;
  let costs = rows.costs[i];
  if (deg0 + added > list.length) {
    const len = Math.min(n, Math.max(deg0 + added, 2 * list.length));
    list = new Int32Array(len);
    list.set(list0.subarray(0, deg0));
    rows.cols[i] = list;
    const grown = new Float64Array(len);
    grown.set(costs.subarray(0, deg0));
    rows.costs[i] = costs = grown;
  }
  // Heap slot 0 holds the floor when size === cap; the others are the columns to expose.
  const from = size === cap ? 1 : 0;
  for (let t = from; t < size; t++) {
    list[deg0 + t - from] = topJ[t];
    costs[deg0 + t - from] = cost[base + topJ[t]];
  }
  rows.deg[i] = deg0 + added;
  rows.floor[i] = floor;
  return added;
}

/** Scratch state of one Dijkstra search, reused across searches. */
interface Search {
  readonly dist: Float64Array;
  readonly settled: Uint8Array;
  readonly pred: Int32Array;
  readonly touched: Int32Array;
  nTouched: number;
  /** Distance at which each scanned row was reached; NaN for rows not scanned. */
  readonly rowDist: Float64Array;
  readonly rowsSeen: Int32Array;
  nRows: number;
  readonly colsSeen: Int32Array;
  nCols: number;
  readonly cols: MinHeap;
  /** Scanned rows keyed by the distance below which a hidden column could appear. */
  readonly horizons: MinHeap;
  sink: number;
  minVal: number;
  readonly row4col: Int32Array;
  /** The closest free column reached so far: on a tie it is settled first, ending the search. */
  freeCol: number;
  freeDist: number;
}

function createSearch(n: number, row4col: Int32Array): Search {
  return {
    dist: new Float64Array(n).fill(Infinity),
    settled: new Uint8Array(n),
    pred: new Int32Array(n),
    touched: new Int32Array(n),
    nTouched: 0,
    rowDist: new Float64Array(n).fill(NaN),
    rowsSeen: new Int32Array(n),
    nRows: 0,
    colsSeen: new Int32Array(n),
    nCols: 0,
    cols: new MinHeap(4 * n),
    horizons: new MinHeap(n),
    sink: -1,
    minVal: 0,
    row4col,
    freeCol: -1,
    freeDist: Infinity,
  };
}

/** Relaxes the edges [from, to) of row i, reached at distance d. */
function relax(rows: Rows, from: number, to: number, i: number, d: number, u: Float64Array, v: Float64Array, s: Search): void {
  const { dist, settled, pred, touched, cols, row4col } = s;
  const list = rows.cols[i];
  const costs = rows.costs[i];
  const offset = d - u[i];
  for (let e = from; e < to; e++) {
    const j = list[e];
    if (settled[j]) continue;
    const r = offset + costs[e] - v[j];
    const old = dist[j];
    if (r < old) {
      if (old === Infinity) touched[s.nTouched++] = j;
      dist[j] = r;
      pred[j] = i;
      cols.push(r, j);
      if (row4col[j] < 0 && r < s.freeDist) {
        s.freeDist = r;
        s.freeCol = j;
      }
    }
  }
}

function scanRow(rows: Rows, u: Float64Array, v: Float64Array, i: number, d: number, s: Search): void {
  s.rowsSeen[s.nRows++] = i;
  s.rowDist[i] = d;
  relax(rows, 0, rows.deg[i], i, d, u, v, s);
  if (rows.floor[i] !== Infinity) s.horizons.push(horizonOf(rows, u, s.rowDist, i), i);
}

/** Dijkstra from free row `cur` to the nearest free column; false if none is reachable. */
function shortestPath(cost: Float64Array, n: number, rows: Rows, u: Float64Array, v: Float64Array, row4col: Int32Array, cur: number, s: Search): boolean {
  const { dist, settled, rowDist, cols, horizons } = s;
  cols.clear();
  horizons.clear();
  s.nTouched = 0;
  s.nRows = 0;
  s.nCols = 0;
  s.sink = -1;
  s.freeCol = -1;
  s.freeDist = Infinity;
  if (rows.floor[cur] === -Infinity) widen(cost, n, rows, v, row4col, cur);
  // Any u[cur] at or below the row's minimum keeps its reduced costs non-negative.
  let best = rows.floor[cur];
  const curList = rows.cols[cur];
  const curCosts = rows.costs[cur];
  for (let e = 0; e < rows.deg[cur]; e++) best = Math.min(best, curCosts[e] - v[curList[e]]);
  u[cur] = best;
  scanRow(rows, u, v, cur, 0, s);
  for (;;) {
    // Stale entries: columns settled or improved since pushed, rows widened since pushed.
    while (cols.size > 0 && (settled[cols.topVal()] || cols.topKey() !== dist[cols.topVal()])) cols.pop();
    while (horizons.size > 0 && horizons.topKey() !== horizonOf(rows, u, rowDist, horizons.topVal())) horizons.pop();
    const d = cols.size > 0 ? cols.topKey() : Infinity;
    if (horizons.size > 0 && horizons.topKey() < d) {
      // A hidden column of this row could be as close as the next one to settle: expose more.
      const i = horizons.pop();
      const from = rows.deg[i];
      widen(cost, n, rows, v, row4col, i);
      relax(rows, from, rows.deg[i], i, rowDist[i], u, v, s);
      if (rows.floor[i] !== Infinity) horizons.push(horizonOf(rows, u, rowDist, i), i);
      continue;
    }
    if (d === Infinity) {
      resetSearch(s);
      return false;
    }
    // The heap's top may tie with a free column deeper in it: take the free one.
    const j = s.freeDist === d ? s.freeCol : cols.pop();
    settled[j] = 1;
    s.colsSeen[s.nCols++] = j;
    if (row4col[j] < 0) {
      s.sink = j;
      s.minVal = d;
      return true;
    }
    scanRow(rows, u, v, row4col[j], d, s);
  }
}

/** The distance below which row i (scanned at rowDist[i]) could reach a column it hides. */
function horizonOf(rows: Rows, u: Float64Array, rowDist: Float64Array, i: number): number {
  return rowDist[i] + rows.floor[i] - u[i];
}

function resetSearch(s: Search): void {
  for (let t = 0; t < s.nTouched; t++) {
    const j = s.touched[t];
    s.dist[j] = Infinity;
    s.settled[j] = 0;
  }
  for (let r = 0; r < s.nRows; r++) s.rowDist[s.rowsSeen[r]] = NaN;
}

function commit(u: Float64Array, v: Float64Array, col4row: Int32Array, row4col: Int32Array, cur: number, s: Search): void {
  // The floors stay valid through the dual update: it only lowers v.
  finishSearch(u, v, col4row, row4col, { cur, sink: s.sink, minVal: s.minVal, colDist: s.dist, pred: s.pred, rowsSeen: s.rowsSeen, nRows: s.nRows, colsSeen: s.colsSeen, nCols: s.nCols });
  resetSearch(s);
}
