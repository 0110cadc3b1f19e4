// Standardised inputs: the training split's own pixel statistics, used for train and test alike.
import { describe, expect, it } from 'vitest';
import { inputScaling } from '../../node/data/dataset.js';
import { loadDataset } from '../../node/data/load.js';
import { pixelStats, scaledSplits } from '../../node/data/standardize.js';
import { SMALL, simulate } from '../helpers/sim.js';
import { parseScenario } from '../../sim/scenario.js';

describe('standardised inputs', () => {
  it("computes MNIST's well-known pixel statistics from the training split", () => {
    const train = loadDataset('mnist', 'train');
    const st = pixelStats(train);
    expect(st.mean).toBeCloseTo(0.1307, 4);
    expect(st.std).toBeCloseTo(0.3081, 4);
    // The default scaling stays pixel/255; standardising maps the mean pixel to 0 and scales by 1/std.
    expect(inputScaling(train)).toEqual({ scale: 1 / 255, shift: 0 });
    const { test } = scaledSplits(train, loadDataset('mnist', 'test'), true);
    expect(scaledSplits(train, test, false).train).toBe(train);
    const s = inputScaling(test);
    expect(255 * st.mean * s.scale - s.shift).toBeCloseTo(0, 9);
    expect(s.scale * 255).toBeCloseTo(1 / st.std, 9);
  });

  it('rejects a split whose pixels are all equal instead of dividing by zero', () => {
    const ds = { ...loadDataset('mnist', 'test'), images: new Uint8Array(784 * 3).fill(7), count: 3 };
    expect(() => pixelStats(ds)).toThrow(/cannot be standardised/);
  });

  it('a scenario opts in with data.standardize, and its agents train and are evaluated on standardised inputs', async () => {
    expect(parseScenario({}).data.standardize).toBe(false);
    expect(parseScenario({ data: { standardize: true } }).data.standardize).toBe(true);
    expect(() => parseScenario({ data: { standardize: 'yes' } })).toThrow(/data\.standardize/);
    // Runs are deterministic (test/sim/determinism.test.ts), so a different curve is the option's doing.
    const acc = async (standardize: boolean) => (await simulate({ ...SMALL, rounds: 1, data: { ...SMALL.data, standardize } })).result.rounds.map((r) => r.mean_accuracy);
    expect(await acc(true)).not.toEqual(await acc(false));
  });
});
