// T0: permuting every unit group of the spec leaves a model's outputs unchanged.
import { afterAll, describe, expect, it } from 'vitest';
import { createModel } from '../../node/model/model.js';
import { inferenceGraph } from '../../node/model/graphs.js';
import { permuteWeights } from '../../node/model/permute.js';
import { weightFeeds } from '../../node/model/weights-io.js';
import { encodeModel } from '../../node/tensor/onnx/encode.js';
import { compiledModel, createRuntime } from '../../node/tensor/runtime/pool.js';
import { allSmall, MNIST_INPUT } from '../helpers/models.js';
import { randomPerms } from '../helpers/perms.js';
import { uniform } from '../helpers/rng.js';
import type { ModelDef } from '../../node/model/def.js';

const rt = createRuntime();
afterAll(() => rt.close());

async function logits(def: ModelDef, weights: Float32Array, x: Float32Array, n: number): Promise<Float32Array> {
  const model = createModel(def);
  const m = compiledModel(encodeModel(inferenceGraph(model, { target: await rt.target() })));
  const res = await rt.run(m, { ...weightFeeds(model.layout, weights), input: { dtype: 'float32', dims: [n, ...def.input], data: x } });
  return res.outputs.logits.data as Float32Array;
}

/** Initial weights with non-trivial running statistics, so eval-mode BatchNorm is tested too. */
function weightsFor(def: ModelDef, seed: number): Float32Array {
  const model = createModel(def);
  const w = model.init(seed);
  for (const e of model.layout.entries) {
    if (e.name.endsWith('running_mean')) w.set(uniform(e.size, seed + e.offset, -0.5, 0.5), e.offset);
    if (e.name.endsWith('running_var')) w.set(uniform(e.size, seed + e.offset, 0.5, 2), e.offset);
    if (e.name.endsWith('norm.weight') || /norm\d\.weight$/.test(e.name)) w.set(uniform(e.size, seed + e.offset, 0.5, 1.5), e.offset);
  }
  return w;
}

const cases: Array<[string, ModelDef]> = [
  ...allSmall,
  ['MLP 784-512-512-10', { kind: 'mlp', input: [...MNIST_INPUT], hidden: [512, 512], classes: 10 }],
  ['CNN on MNIST', { kind: 'cnn', input: [...MNIST_INPUT], channels: [32, 64], hidden: 128, classes: 10 }],
  ['ResNet-20 ×1 on MNIST (BatchNorm)', { kind: 'resnet20', input: [...MNIST_INPUT], width: 1, norm: 'batchnorm', classes: 10 }],
];

describe('permutation invariance (T0)', () => {
  it.each(cases)('%s: outputs unchanged under random permutations of every group', async (_name, def) => {
    const n = 6;
    const w = weightsFor(def, 7);
    const x = uniform(n * def.input.reduce((a, b) => a * b, 1), 3, 0, 1);
    const model = createModel(def);
    const perms = randomPerms(model.spec, 11);
    const pw = permuteWeights(model.layout, model.spec, w, perms);
    // The permutation really moved weights (otherwise the check would be vacuous).
    let moved = 0;
    for (let i = 0; i < w.length; i++) if (w[i] !== pw[i]) moved++;
    expect(moved).toBeGreaterThan(w.length / 4);
    const a = await logits(def, w, x, n);
    const b = await logits(def, pw, x, n);
    let maxDiff = 0;
    for (let i = 0; i < a.length; i++) maxDiff = Math.max(maxDiff, Math.abs(a[i] - b[i]));
    expect(maxDiff).toBeLessThan(1e-4);
    // A permutation of one tensor alone is not an invariance: the spec is what makes it so.
    const e = model.layout.entries[0];
    const broken = w.slice();
    broken.set(pw.subarray(e.offset, e.offset + e.size), e.offset);
    const c = await logits(def, broken, x, n);
    let brokenDiff = 0;
    for (let i = 0; i < a.length; i++) brokenDiff = Math.max(brokenDiff, Math.abs(a[i] - c[i]));
    expect(brokenDiff).toBeGreaterThan(1e-3);
  });
});
