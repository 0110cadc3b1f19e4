// Seeded pseudo-random numbers (xoshiro128**, seeded by splitmix32). Every random choice in
// mergemesh goes through this, so a seed reproduces a run exactly across machines.

export interface Rng {
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform integer in [0, n). */
  int(n: number): number;
  /** Standard normal (Box–Muller). */
  normal(): number;
  /** Gamma(shape, 1), for Dirichlet sampling (Marsaglia–Tsang). */
  gamma(shape: number): number;
  /** In-place Fisher–Yates shuffle. */
  shuffle<T>(a: T[] | Int32Array | Uint32Array): void;
  /** A derived, independent generator (e.g. one per agent). */
  fork(stream: number): Rng;
}

function splitmix32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

// Both halves of a seed up to 2⁵³ count.
const fold = (seed: number): number => Math.floor(seed) ^ Math.floor(seed / 2 ** 32);

/** A well-mixed 32-bit value of an integer (splitmix32's first output). */
export const hash32 = (seed: number): number => splitmix32(fold(seed))();

export function createRng(seed: number): Rng {
  if (!Number.isFinite(seed)) throw new Error(`rng: seed must be a finite number, got ${seed}`);
  const sm = splitmix32(fold(seed));
  let a = sm();
  let b = sm();
  let c = sm();
  let d = sm();
  if ((a | b | c | d) === 0) a = 1;
  let spare: number | undefined;

  const u32 = (): number => {
    const result = Math.imul(((Math.imul(b, 5) << 7) | (Math.imul(b, 5) >>> 25)) >>> 0, 9) >>> 0;
    const t = b << 9;
    c ^= a;
    d ^= b;
    b ^= c;
    a ^= d;
    c ^= t;
    d = (d << 11) | (d >>> 21);
    return result;
  };
  // 53 random bits, as Math.random gives.
  const next = (): number => ((u32() >>> 5) * 67108864 + (u32() >>> 6)) / 9007199254740992;
  const rng: Rng = {
    next,
    int: (n) => Math.floor(next() * n),
    normal() {
      if (spare !== undefined) {
        const s = spare;
        spare = undefined;
        return s;
      }
      let u = 0;
      while (u === 0) u = next();
      const v = next();
      const r = Math.sqrt(-2 * Math.log(u));
      spare = r * Math.sin(2 * Math.PI * v);
      return r * Math.cos(2 * Math.PI * v);
    },
    gamma(shape) {
      if (shape < 1) return rng.gamma(shape + 1) * Math.pow(next() || 1e-12, 1 / shape);
      const dd = shape - 1 / 3;
      const cc = 1 / Math.sqrt(9 * dd);
      for (;;) {
        let x: number;
        let v: number;
        do {
          x = rng.normal();
          v = 1 + cc * x;
        } while (v <= 0);
        v = v * v * v;
        const u = next();
        if (u < 1 - 0.0331 * x ** 4) return dd * v;
        if (Math.log(u) < 0.5 * x * x + dd * (1 - v + Math.log(v))) return dd * v;
      }
    },
    shuffle(arr) {
      for (let i = arr.length - 1; i > 0; i--) {
        const j = Math.floor(next() * (i + 1));
        const t = arr[i];
        arr[i] = arr[j];
        arr[j] = t;
      }
    },
    fork: (stream) => createRng((u32() ^ Math.imul(stream + 1, 0x9e3779b1)) >>> 0),
  };
  return rng;
}
