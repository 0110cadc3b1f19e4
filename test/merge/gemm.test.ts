// gemmABt on the worker pool: the product, and the promise made to callers that reuse their
// operand arrays (weight matching refills one for every sweep of every matching).
import { afterAll, describe, expect, it } from 'vitest';
import { gemmABt } from '../../node/merge/gemm.js';
import { createRuntime } from '../../node/tensor/runtime/pool.js';
import { createRng } from '../../node/util/rng.js';

const rt = createRuntime({ workers: 2 });
afterAll(() => rt.close());

const naive = (a: Float32Array, b: Float32Array, n: number, m: number, k: number) => {
  const out = new Float64Array(n * m);
  for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) for (let t = 0; t < k; t++) out[i * m + j] += a[i * k + t] * b[j * k + t];
  return out;
};

describe('gemmABt', () => {
  it('computes a·bᵀ, and operands refilled right after the call do not change a result still on its way', async () => {
    const rng = createRng(9);
    const [n, m, k] = [7, 5, 33];
    const a = Float32Array.from({ length: n * k }, () => rng.normal());
    const b = Float32Array.from({ length: m * k }, () => rng.normal());
    const want = naive(a, b, n, m, k);
    const pending = gemmABt(rt, a, b, n, m, k);
    a.fill(1e6);
    b.fill(-1e6);
    const got = await pending;
    expect(got.length).toBe(n * m);
    got.forEach((x, i) => expect(Math.abs(x - want[i])).toBeLessThan(1e-4));
  });
});
