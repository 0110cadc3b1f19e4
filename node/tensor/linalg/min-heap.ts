// A binary min-heap of (float64 key, int32 value) pairs on typed arrays, for Dijkstra searches
// that push many entries and never decrease a key in place (stale entries are skipped by the
// caller instead).

export class MinHeap {
  private keys: Float64Array;
  private vals: Int32Array;
  size = 0;

  constructor(capacity: number) {
    this.keys = new Float64Array(Math.max(1, capacity));
    this.vals = new Int32Array(Math.max(1, capacity));
  }

  clear(): void {
    this.size = 0;
  }

  push(key: number, val: number): void {
    if (this.size === this.keys.length) this.grow();
    const keys = this.keys;
    const vals = this.vals;
    let p = this.size++;
    while (p > 0) {
      const parent = (p - 1) >> 1;
      if (!(keys[parent] > key)) break;
      keys[p] = keys[parent];
      vals[p] = vals[parent];
      p = parent;
    }
    keys[p] = key;
    vals[p] = val;
  }

  /** The smallest key; only meaningful when size > 0. */
  topKey(): number {
    return this.keys[0];
  }

  /** The value of the entry with the smallest key; only meaningful when size > 0. */
  topVal(): number {
    return this.vals[0];
  }

  /** Removes the entry with the smallest key and returns its value (size must be > 0). */
  pop(): number {
    const keys = this.keys;
    const vals = this.vals;
    const top = vals[0];
    const n = --this.size;
    if (n === 0) return top;
    const key = keys[n];
    const val = vals[n];
    let p = 0;
    for (;;) {
      let c = 2 * p + 1;
      if (c >= n) break;
      if (c + 1 < n && keys[c + 1] < keys[c]) c++;
      if (!(keys[c] < key)) break;
      keys[p] = keys[c];
      vals[p] = vals[c];
      p = c;
    }
    keys[p] = key;
    vals[p] = val;
    return top;
  }

  private grow(): void {
    const keys = new Float64Array(this.keys.length * 2);
    keys.set(this.keys);
    const vals = new Int32Array(this.vals.length * 2);
    vals.set(this.vals);
    this.keys = keys;
    this.vals = vals;
  }
}
