// Seeded test data, so a failing check can be rerun exactly.
import { createRng } from '../../node/util/rng.js';

export function randn(n: number, seed: number, scale = 1): Float32Array {
  const r = createRng(seed);
  return Float32Array.from({ length: n }, () => r.normal() * scale);
}

export function uniform(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  const r = createRng(seed);
  return Float32Array.from({ length: n }, () => lo + (hi - lo) * r.next());
}
