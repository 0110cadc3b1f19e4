// Whole-model gradient checks (training mode) for every architecture and norm.
import { afterAll, describe, expect, it } from 'vitest';
import { createModel } from '../../node/model/model.js';
import { buildForward, unflatten } from '../../node/model/graphs.js';
import { createRuntime } from '../../node/tensor/runtime/pool.js';
import { gradCheck } from '../helpers/gradcheck.js';
import { allSmall, smallResnetBN } from '../helpers/models.js';
import { targetsOf } from '../helpers/targets.js';
import type { ModelDef } from '../../node/model/def.js';
import { uniform } from '../helpers/rng.js';

const rt = createRuntime();
afterAll(() => rt.close());

const targets = await targetsOf(rt);
// The small models have 4–6 channels; these widths take the NCHWc conv lowerings too.
const wide: Array<[string, ModelDef]> = [
  ['CNN 8/16 channels', { kind: 'cnn', input: [1, 8, 8], channels: [8, 16], hidden: 10, classes: 5 }],
  ['ResNet-20 ×1 (BatchNorm), batch 8', { ...smallResnetBN, input: [3, 8, 8] }],
];

describe.each(targets)('whole-model gradients match finite differences (%s lowering)', (_t, target) => {
  it.each([...allSmall, ...wide])('%s', async (_name, def) => {
    const model = createModel(def);
    const batch = 8;
    const res = await gradCheck(
      rt,
      (w, x) => buildForward(model, { graph: w.graph, batch, training: true, params: unflatten(model.layout, w), x }).logits,
      [
        { shape: [model.layout.totalSize], data: model.init(3) },
        { shape: [batch, ...def.input], data: uniform(batch * def.input.reduce((a, b) => a * b, 1), 4, 0, 1), wrt: false },
      ],
      // Every weight moves at once, and a randomly initialised deep net with batch statistics
      // over a tiny batch is so kinked that ε = 1e-3…1e-4 crosses many ReLU boundaries (the
      // finite difference then depends on ε). Along the check's direction the derivative is
      // large (~1e2–1e5), so float32 roundoff still allows ε = 1e-6, where it converges.
      { directions: 4, eps: 1e-6, target },
    );
    expect(res.maxRelError, JSON.stringify(res.checks)).toBeLessThan(1e-2);
  });
});
