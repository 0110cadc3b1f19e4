// Initialisation schemes: PyTorch's default stays the default; 'he' gives He-normal on fan-in
// with zero biases where PyTorch's uniform was, and leaves constants and ResNet convs alone.
import { describe, expect, it } from 'vitest';
import { createModel } from '../../node/model/model.js';
import { view } from '../../node/model/layout.js';
import { parseScenario } from '../../sim/scenario.js';
import { SMALL, simulate } from '../helpers/sim.js';

const mlp = createModel({ kind: 'mlp', input: [1, 28, 28], hidden: [128, 64], classes: 10 });

const std = (v: Float32Array): number => {
  let m = 0;
  for (const x of v) m += x / v.length;
  let s = 0;
  for (const x of v) s += (x - m) ** 2 / v.length;
  return Math.sqrt(s);
};

describe('initialisation schemes', () => {
  it("'torch' (the default) draws weights and biases from U(±1/√fan_in)", () => {
    const w = mlp.init(3);
    expect(mlp.init(3, 'torch')).toEqual(w);
    const fc1 = view(mlp.layout, w, 'fc1.weight');
    const b1 = view(mlp.layout, w, 'fc1.bias');
    const bound = 1 / Math.sqrt(784);
    expect(Math.max(...fc1.map(Math.abs))).toBeLessThanOrEqual(bound);
    expect(std(fc1)).toBeCloseTo(bound / Math.sqrt(3), 3);
    expect(b1.some((x) => x !== 0)).toBe(true);
    expect(Math.max(...b1.map(Math.abs))).toBeLessThanOrEqual(bound);
  });

  it("'he' draws weights from N(0, 2/fan_in) and zeroes biases, deterministically per seed", () => {
    const w = mlp.init(3, 'he');
    expect(mlp.init(3, 'he')).toEqual(w);
    expect(mlp.init(4, 'he')).not.toEqual(w);
    for (const [name, fanIn] of [['fc1', 784], ['fc2', 128], ['head', 64]] as const) {
      const s = std(view(mlp.layout, w, `${name}.weight`));
      expect(Math.abs(s / Math.sqrt(2 / fanIn) - 1)).toBeLessThan(0.05);
      expect(view(mlp.layout, w, `${name}.bias`).every((x) => x === 0)).toBe(true);
    }
  });

  it("'he' changes only what PyTorch's default would have drawn in a ResNet", () => {
    const resnet = createModel({ kind: 'resnet20', input: [3, 32, 32], width: 1, norm: 'batchnorm', classes: 10 });
    const torch = resnet.init(1);
    const he = resnet.init(1, 'he');
    const changed = resnet.layout.entries.filter((e) => view(resnet.layout, torch, e.name).some((x, i) => x !== view(resnet.layout, he, e.name)[i]));
    expect(changed.map((e) => e.name).sort()).toEqual(['head.bias', 'head.weight']);
    expect(view(resnet.layout, he, 'head.bias').every((x) => x === 0)).toBe(true);
  });

  it('a scenario chooses it with init_scheme, its agents start from it, and a misspelt scheme is an error', async () => {
    expect(parseScenario({}).init_scheme).toBe('torch');
    expect(parseScenario({ init_scheme: 'he' }).init_scheme).toBe('he');
    expect(() => parseScenario({ init_scheme: 'xavier' })).toThrow(/init_scheme/);
    // Runs are deterministic (test/sim/determinism.test.ts), so a different curve is the option's doing.
    const acc = async (init_scheme: 'torch' | 'he') => (await simulate({ ...SMALL, rounds: 1, init_scheme })).result.rounds.map((r) => r.mean_accuracy);
    expect(await acc('he')).not.toEqual(await acc('torch'));
  });
});
