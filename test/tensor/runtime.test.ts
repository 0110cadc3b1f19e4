// The ORT worker pool: off-main-thread execution, session caching, errors, lifecycle.
import { describe, expect, it } from 'vitest';
import { compileGraph } from '../../node/tensor/compile.js';
import { Graph } from '../../node/tensor/graph.js';
import { encodeModel } from '../../node/tensor/onnx/encode.js';
import { matmul, reduceSum } from '../../node/tensor/ops/index.js';
import { compiledModel, createRuntime } from '../../node/tensor/runtime/pool.js';

function bigMatmul(n: number) {
  const g = new Graph();
  const a = g.input('a', [n, n]);
  return compiledModel(encodeModel(compileGraph(g, { s: reduceSum(matmul(matmul(a, a), a)) })));
}

describe('runtime', () => {
  it('keeps the event loop responsive while ORT computes', async () => {
    const rt = createRuntime();
    const n = 1024;
    const m = bigMatmul(n);
    const a = { dtype: 'float32' as const, dims: [n, n], data: new Float32Array(n * n).fill(0.001) };
    await rt.run(m, { a });
    let maxLag = 0;
    let last = performance.now();
    const timer = setInterval(() => {
      const now = performance.now();
      maxLag = Math.max(maxLag, now - last - 5);
      last = now;
    }, 5);
    const t0 = performance.now();
    for (let i = 0; i < 5; i++) await rt.run(m, { a });
    const busy = performance.now() - t0;
    clearInterval(timer);
    await rt.close();
    // ~10 GFLOP of work, yet timers keep firing on schedule.
    expect(busy).toBeGreaterThan(50);
    expect(maxLag).toBeLessThan(Math.max(40, busy / 5));
  });

  it('runs the same model with different feeds and reuses its session', async () => {
    const rt = createRuntime({ workers: 2 });
    const g = new Graph();
    const x = g.input('x', [3]);
    const m = compiledModel(encodeModel(compileGraph(g, { s: reduceSum(x) })));
    const sums = await Promise.all([1, 2, 3, 4].map((k) => rt.run(m, { x: { dtype: 'float32', dims: [3], data: Float32Array.of(k, k, k) } })));
    expect(sums.map((r) => (r.outputs.s.data as Float32Array)[0])).toEqual([3, 6, 9, 12]);
    // The same bytes give the same cache key; different graphs different keys.
    expect(compiledModel(m.bytes).key).toBe(m.key);
    expect(bigMatmul(8).key).not.toBe(m.key);
    await rt.close();
  });

  it('reports ORT errors as rejections with ORT’s message, and keeps working', async () => {
    const rt = createRuntime();
    await expect(rt.run(compiledModel(Uint8Array.of(1, 2, 3, 4)), {})).rejects.toThrow(/protobuf|parse|model/i);
    const g = new Graph();
    const x = g.input('x', [3]);
    const m = compiledModel(encodeModel(compileGraph(g, { s: reduceSum(x) })));
    await expect(rt.run(m, { x: { dtype: 'float32', dims: [4], data: new Float32Array(4) } })).rejects.toThrow(/dimension|shape|index/i);
    const ok = await rt.run(m, { x: { dtype: 'float32', dims: [3], data: Float32Array.of(1, 2, 3) } });
    expect((ok.outputs.s.data as Float32Array)[0]).toBe(6);
    await rt.close();
    await expect(rt.run(m, {})).rejects.toThrow(/closed/);
  });

  it('runs a waiting call before queued background calls, and keeps each model’s calls in order', async () => {
    const rt = createRuntime({ workers: 1 });
    const n = 256;
    const bulk = bigMatmul(n);
    const g = new Graph();
    const urgent = compiledModel(encodeModel(compileGraph(g, { s: reduceSum(g.input('a', [4, 4])) })));
    const a = { dtype: 'float32' as const, dims: [n, n], data: new Float32Array(n * n).fill(0.001) };
    const small = { dtype: 'float32' as const, dims: [4, 4], data: new Float32Array(16).fill(1) };
    await Promise.all([rt.run(bulk, { a }), rt.run(urgent, { a: small })]); // sessions exist
    const done: string[] = [];
    const calls = Array.from({ length: 12 }, (_, i) => rt.run(bulk, { a }, { background: true }).then(() => void done.push(`bulk${i}`)));
    calls.push(rt.run(urgent, { a: small }).then(() => void done.push('urgent')));
    await Promise.all(calls);
    await rt.close();
    // Posted last, it overtakes the background calls still waiting (one may already be running).
    expect(done.indexOf('urgent')).toBeLessThanOrEqual(2);
    const order = done.filter((d) => d !== 'urgent');
    expect(order).toEqual(Array.from({ length: 12 }, (_, i) => `bulk${i}`));
  });

  it('sends moved feed buffers back when asked (recycle), usable again', async () => {
    const rt = createRuntime();
    const g = new Graph();
    const m = compiledModel(encodeModel(compileGraph(g, { s: reduceSum(g.input('a', [4, 4])) })));
    const data = new Float32Array(16).fill(2);
    const res = await rt.run(m, { a: { dtype: 'float32', dims: [4, 4], data } }, { transfer: [data.buffer], recycle: ['a'] });
    expect(data.byteLength).toBe(0); // moved to the worker
    expect(res.recycled.map((b) => b.byteLength)).toEqual([64]);
    const again = new Float32Array(res.recycled[0]).fill(3);
    expect((await rt.run(m, { a: { dtype: 'float32', dims: [4, 4], data: again } })).outputs.s.data[0]).toBe(48);
    // A copied feed comes back too (the worker's copy): as good a buffer to reuse.
    expect((await rt.run(m, { a: { dtype: 'float32', dims: [4, 4], data: again } }, { recycle: ['a'] })).recycled.map((b) => b.byteLength)).toEqual([64]);
    expect(again[0]).toBe(3);
    await rt.close();
  });

  it('rejects bad options clearly', () => {
    expect(() => createRuntime({ workers: 0 })).toThrow(/workers must be a positive integer/);
    expect(() => createRuntime({ intraOpThreads: 1.5 })).toThrow(/intraOpThreads/);
  });
});
