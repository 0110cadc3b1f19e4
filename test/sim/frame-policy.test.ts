// The frame-aware policy's bookkeeping on real models: frame names, the task check's
// verdicts (reached once per neighbour, then reused), and the alignments shared by the two
// sides of a frame border.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAlignmentCache } from '../../node/agent/alignment-cache.js';
import { frameOfSeed } from '../../node/agent/frame.js';
import { DEFAULT_STRATEGY, mergeStep, type MergeContext, type StrategyConfig } from '../../node/agent/strategy.js';
import { loadDataset } from '../../node/data/load.js';
import { permuteWeights } from '../../node/model/permute.js';
import { createRuntime } from '../../node/tensor/runtime/pool.js';
import type { TrainJobResult } from '../../node/train/job.js';
import { createRng } from '../../node/util/rng.js';
import { randomPerms } from '../helpers/perms.js';
import { trainMlp } from '../helpers/trained.js';

describe('frame names', () => {
  it('are a deterministic function of the init seed, distinct, and in no order along the seeds', () => {
    const names = Array.from({ length: 64 }, (_, i) => frameOfSeed(i));
    expect(names).toEqual(Array.from({ length: 64 }, (_, i) => frameOfSeed(i)));
    expect(new Set(names).size).toBe(64);
    for (const n of names) expect(Number.isInteger(n) && n >= 0 && n < 2 ** 32).toBe(true);
    // Increasing names along a ring are what made every agent re-align every round.
    let ascents = 0;
    for (let i = 1; i < names.length; i++) if (names[i] > names[i - 1]) ascents++;
    expect(ascents).toBeGreaterThan(16);
    expect(ascents).toBeLessThan(48);
  });
});

describe('task verdicts', () => {
  const rt = createRuntime();
  const train = loadDataset('mnist', 'train');
  const order = Int32Array.from({ length: train.count }, (_, i) => i);
  createRng(3).shuffle(order);
  let A: TrainJobResult;
  beforeAll(async () => {
    A = await trainMlp(rt, 32, 1, 1);
  });
  afterAll(() => rt.close());

  const strategy: StrategyConfig = { ...DEFAULT_STRATEGY, kind: 'frame', margin: 0.02 };
  const context = (taskVerdicts: Map<number, boolean>): MergeContext => ({
    rt,
    model: A.model,
    data: { ds: train, indices: order.subarray(0, 500) },
    own: { ds: train, indices: order.subarray(500, 756) },
    seed: 1,
    sharedSeed: 1,
    taskVerdicts,
  });
  // A neighbour holding the same model in another unit order (a lower frame, so the reference).
  const permuted = () => permuteWeights(A.model.layout, A.model.spec, A.weights, randomPerms(A.model.spec, 5));

  it('a neighbour of the same task is judged once, remembered, and aligned', async () => {
    const verdicts = new Map<number, boolean>();
    const self = { agent: 0, weight: 0.5, values: A.weights, frame: 20 };
    const other = { agent: 7, weight: 0.5, values: permuted(), frame: 10 };
    const r = await mergeStep(context(verdicts), strategy, self, [other]);
    expect(verdicts.get(7)).toBe(true);
    expect(r.aligned).toBe(1);
    expect(r.frame).toBe(10);
  });

  it('a remembered verdict is used as it is: a neighbour judged of another task is blended, not aligned', async () => {
    const verdicts = new Map([[7, false]]);
    const self = { agent: 0, weight: 0.5, values: A.weights, frame: 20 };
    const other = { agent: 7, weight: 0.5, values: permuted(), frame: 10 };
    const r = await mergeStep(context(verdicts), strategy, self, [other]);
    expect(r.aligned).toBe(0);
    expect(r.frame).toBe(10);
    expect([...verdicts]).toEqual([[7, false]]);
  });
  it('both sides of a border align the same published pair: one solve, the same merge as without the cache', async () => {
    // Published versions differ from the exact weights (a lossy codec); alignment reads them.
    const pubA = A.weights.map((x, i) => x + 1e-4 * Math.cos(i));
    const B = permuted();
    const pubB = B.map((x, i) => x - 1e-4 * Math.sin(i));
    const sideA = (cacheOf: MergeContext['alignments']) =>
      mergeStep({ ...context(new Map([[7, true]])), alignments: cacheOf }, strategy, { agent: 0, weight: 0.5, values: A.weights, frame: 10, version: { hash: 'a', values: pubA } }, [
        { agent: 7, weight: 0.5, values: pubB, frame: 20, version: { hash: 'b', values: pubB } },
      ]);
    const sideB = (cacheOf: MergeContext['alignments']) =>
      mergeStep({ ...context(new Map([[0, true]])), alignments: cacheOf }, strategy, { agent: 7, weight: 0.5, values: B, frame: 20, version: { hash: 'b', values: pubB } }, [
        { agent: 0, weight: 0.5, values: pubA, frame: 10, version: { hash: 'a', values: pubA } },
      ]);
    const cache = createAlignmentCache();
    const [a, b] = [await sideA(cache), await sideB(cache)];
    expect(cache.stats()).toEqual({ computed: 1, reused: 1 });
    expect(a.aligned).toBe(1);
    expect(b.aligned).toBe(1);
    const [a0, b0] = [await sideA(undefined), await sideB(undefined)];
    expect(Buffer.from(a.weights.buffer).equals(Buffer.from(a0.weights.buffer))).toBe(true);
    expect(Buffer.from(b.weights.buffer).equals(Buffer.from(b0.weights.buffer))).toBe(true);
    // Both end in frame 10 with B's units in A's order: their merges are close, not re-permuted.
    const gap = a.weights.reduce((m, x, i) => Math.max(m, Math.abs(x - b.weights[i])), 0);
    expect(gap).toBeLessThan(1e-2);
  });

  it('a failed solve is not kept', async () => {
    const cache = createAlignmentCache({ capacity: 2 });
    await expect(cache.get('a', 'b', 'o', () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    const ok = await cache.get('a', 'b', 'o', async () => new Map());
    expect(ok.size).toBe(0);
    expect(cache.stats()).toEqual({ computed: 2, reused: 0 });
  });
});
