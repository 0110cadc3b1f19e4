// T1: two MLPs trained from different seeds on the same data. Naive averaging breaks them;
// activation and weight matching put them in one frame and remove the loss barrier.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadDataset } from '../../node/data/load.js';
import { permuteWeights } from '../../node/model/permute.js';
import { interpolationPath, lossBarrier, type PathPoint } from '../../node/merge/evaluate.js';
import { alignModels } from '../../node/merge/many.js';
import { createRuntime } from '../../node/tensor/runtime/pool.js';
import type { TrainJobResult } from '../../node/train/job.js';
import { createRng } from '../../node/util/rng.js';
import { trainMlp } from '../helpers/trained.js';

const rt = createRuntime();
const train = loadDataset('mnist', 'train');
const test = loadDataset('mnist', 'test');
let A: TrainJobResult;
let B: TrainJobResult;
let naive: PathPoint[];

beforeAll(async () => {
  // Width 128, 2 epochs: narrow and short enough that the naive midpoint clearly breaks.
  A = await trainMlp(rt, 128, 1, 2);
  B = await trainMlp(rt, 128, 2, 2);
  naive = await interpolationPath(rt, A.model, A.weights, B.weights, test);
});
afterAll(() => rt.close());

const pct = (p: PathPoint[]) => p.map((x) => `λ=${x.lambda}: ${(100 * x.accuracy).toFixed(1)}% / ${x.loss.toFixed(3)}`).join(', ');

describe('T1: same task, different seeds', () => {
  it('the naive midpoint loses at least 5 points of test accuracy', () => {
    const ends = (naive[0].accuracy + naive[4].accuracy) / 2;
    console.log(`naive: ${pct(naive)}; barrier ${lossBarrier(naive).toFixed(3)}`);
    expect(ends - naive[2].accuracy).toBeGreaterThanOrEqual(0.05);
  });

  it.each(['activation', 'weight'] as const)('%s matching: midpoint within 2 points of the endpoints, barrier cut by at least 80 percent', async (by) => {
    const order = Int32Array.from({ length: train.count }, (_, i) => i);
    createRng(7).shuffle(order);
    const al = await alignModels(rt, A.model, [A.weights, B.weights], [1, 1], { by, data: { ds: train, indices: order.subarray(0, 2000) } });
    const aligned = permuteWeights(A.model.layout, A.model.spec, B.weights, al.perms[1]);
    const path = await interpolationPath(rt, A.model, A.weights, aligned, test);
    console.log(`${by}: ${pct(path)}; barrier ${lossBarrier(path).toFixed(3)} (naive ${lossBarrier(naive).toFixed(3)})`);
    // The aligned endpoint is B itself: a permutation does not change the function.
    expect(path[4].accuracy).toBe(naive[4].accuracy);
    const ends = (path[0].accuracy + path[4].accuracy) / 2;
    expect(Math.abs(path[2].accuracy - ends)).toBeLessThanOrEqual(0.02);
    expect(lossBarrier(path)).toBeLessThanOrEqual(0.2 * lossBarrier(naive));
    for (const g of al.reports[1]!.values()) expect(g.gain).toBeGreaterThan(0.5);
  });
});
