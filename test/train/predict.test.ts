// predict() packs a sample set's inputs once per indices array (shared memory, read by the
// workers without a copy); what it returns must still follow the indices' current contents.
import { afterAll, describe, expect, it } from 'vitest';
import { loadDataset } from '../../node/data/load.js';
import { defaultModelDef } from '../../node/model/def.js';
import { createModel } from '../../node/model/model.js';
import { createRuntime } from '../../node/tensor/runtime/pool.js';
import { predict } from '../../node/train/evaluate.js';

const rt = createRuntime({ workers: 2 });
const test = loadDataset('mnist', 'test');
const model = createModel(defaultModelDef('mlp', [1, 28, 28], 10));
const w = model.init(7);
afterAll(() => rt.close());

const range = (from: number, n: number) => Int32Array.from({ length: n }, (_, i) => from + i);
const maxDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i])), 0);

describe('predict', () => {
  it('repeated calls on one indices array give the same logits, and a refilled array gives the new samples', async () => {
    const idx = range(0, 150);
    const first = await predict(rt, model, w, test, idx, 64);
    expect(first.length).toBe(150 * 10);
    const again = await predict(rt, model, w, test, idx, 64);
    expect(maxDiff(first, again)).toBe(0);
    idx.set(range(5000, 150));
    const refilled = await predict(rt, model, w, test, idx, 64);
    const fresh = await predict(rt, model, w, test, range(5000, 150), 64);
    expect(maxDiff(refilled, fresh)).toBe(0);
    expect(maxDiff(refilled, first)).toBeGreaterThan(1e-3);
    // Chunking does not change a row's logits beyond float rounding.
    expect(maxDiff(fresh, await predict(rt, model, w, test, range(5000, 150)))).toBeLessThan(1e-5);
  });
});
