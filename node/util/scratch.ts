// Scratch arrays reused across calls, by size and slot: for hot numeric code that would
// otherwise hand the collector a new multi-kilobyte array per call. Each user keeps its own
// pool and states when an array it takes is free again.

/** A pool: `take(size, slot)` is the same array every time for the same size and slot. */
export function createScratch(): (size: number, slot: number) => Float32Array {
  const pools = new Map<number, Float32Array[]>();
  return (size, slot) => {
    let pool = pools.get(size);
    if (!pool) pools.set(size, (pool = []));
    while (pool.length <= slot) pool.push(new Float32Array(size));
    return pool[slot];
  };
}
