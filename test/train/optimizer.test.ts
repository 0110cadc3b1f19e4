// The in-graph optimiser updates against a direct transcription of PyTorch's algorithms
// (torch.optim.SGD / Adam / AdamW docs), on a linear model where the gradient is known.
import { afterAll, describe, expect, it } from 'vitest';
import { createModel } from '../../node/model/model.js';
import type { ModelDef } from '../../node/model/def.js';
import { createRuntime } from '../../node/tensor/runtime/pool.js';
import { adamMoments, optimizerConfig, type OptimizerConfig, type OptimizerKind } from '../../node/train/optimizer.js';
import { createTrainer } from '../../node/train/trainer.js';
import { createRng } from '../../node/util/rng.js';
import type { Dataset } from '../../node/data/dataset.js';

const rt = createRuntime();
afterAll(() => rt.close());

// A 4-pixel, 3-class "dataset" and a linear model (an MLP without hidden layers).
const def: ModelDef = { kind: 'mlp', input: [1, 2, 2], hidden: [], classes: 3 };
const n = 16;
const pixels = Uint8Array.from({ length: n * 4 }, (_, i) => (i * 37) % 256);
const labels = Uint8Array.from({ length: n }, (_, i) => i % 3);
const ds: Dataset = { name: 'mnist', split: 'train', count: n, shape: [1, 2, 2], classes: 3, images: pixels, labels, mean: 0, std: 1 };

/** Gradient of mean softmax cross-entropy for the linear model, in the layout's order [W (3×4), b (3)]. */
function gradient(w: Float64Array, order: Int32Array): Float64Array {
  const g = new Float64Array(15);
  for (const i of order) {
    const x = Array.from({ length: 4 }, (_, k) => pixels[i * 4 + k] / 255);
    const z = [0, 1, 2].map((c) => w[12 + c] + x.reduce((a, xv, k) => a + xv * w[c * 4 + k], 0));
    const m = Math.max(...z);
    const e = z.map((v) => Math.exp(v - m));
    const s = e.reduce((a, b) => a + b, 0);
    for (let c = 0; c < 3; c++) {
      const d = (e[c] / s - (labels[i] === c ? 1 : 0)) / order.length;
      for (let k = 0; k < 4; k++) g[c * 4 + k] += d * x[k];
      g[12 + c] += d;
    }
  }
  return g;
}

/** torch.optim semantics, step by step. */
function reference(cfg: OptimizerConfig, w0: Float32Array, batches: Int32Array[]): Float64Array {
  const w = Float64Array.from(w0);
  const buf = new Float64Array(15);
  const m = new Float64Array(15);
  const v = new Float64Array(15);
  batches.forEach((order, t0) => {
    const t = t0 + 1;
    const g = gradient(w, order);
    for (let j = 0; j < 15; j++) {
      let gj = g[j];
      if (cfg.kind === 'adamw') w[j] *= 1 - cfg.lr * cfg.weightDecay;
      else gj += cfg.weightDecay * w[j];
      if (cfg.kind === 'sgd') w[j] -= cfg.lr * gj;
      else if (cfg.kind === 'momentum') {
        buf[j] = t === 1 ? gj : cfg.momentum * buf[j] + gj;
        w[j] -= cfg.lr * (cfg.nesterov ? gj + cfg.momentum * buf[j] : buf[j]);
      } else {
        m[j] = cfg.beta1 * m[j] + (1 - cfg.beta1) * gj;
        v[j] = cfg.beta2 * v[j] + (1 - cfg.beta2) * gj * gj;
        const mh = m[j] / (1 - cfg.beta1 ** t);
        const vh = v[j] / (1 - cfg.beta2 ** t);
        w[j] -= (cfg.lr * mh) / (Math.sqrt(vh) + cfg.eps);
      }
    }
  });
  return w;
}

const configs: Array<[string, OptimizerKind, Partial<OptimizerConfig>]> = [
  ['sgd', 'sgd', { lr: 0.5 }],
  ['sgd + L2', 'sgd', { lr: 0.5, weightDecay: 0.1 }],
  ['momentum', 'momentum', { lr: 0.3, momentum: 0.9 }],
  ['nesterov + L2', 'momentum', { lr: 0.3, momentum: 0.8, nesterov: true, weightDecay: 0.05 }],
  ['adam', 'adam', { lr: 0.05 }],
  ['adam + L2', 'adam', { lr: 0.05, weightDecay: 0.1 }],
  ['adamw', 'adamw', { lr: 0.05, weightDecay: 0.3 }],
];

describe('optimisers match torch.optim', () => {
  it.each(configs)('%s over 8 steps (batches of 4, 3 steps per call)', async (_name, kind, over) => {
    const cfg = optimizerConfig(kind, over);
    const model = createModel(def);
    const w0 = model.init(5);
    const trainer = createTrainer({ runtime: rt, model, optimizer: cfg, batch: 4, stepsPerCall: 3 }, w0);
    // Reproduce the trainer's shuffles: one rng, two epochs of 4 steps (calls of 3 + 1 steps).
    const rng = createRng(9);
    const mirror = createRng(9);
    const batches: Int32Array[] = [];
    for (let e = 0; e < 2; e++) {
      const order = Int32Array.from({ length: n }, (_, i) => i);
      mirror.shuffle(order);
      for (let b = 0; b < 4; b++) batches.push(order.subarray(4 * b, 4 * b + 4));
      await trainer.trainEpoch(ds, Int32Array.from({ length: n }, (_, i) => i), rng);
    }
    const want = reference(cfg, w0, batches);
    const got = trainer.state.weights;
    for (let j = 0; j < 15; j++) expect(got[j]).toBeCloseTo(want[j], 4);
    // The update really moved the weights (the comparison is not against a no-op).
    expect(Math.max(...Array.from(got, (x, j) => Math.abs(x - w0[j])))).toBeGreaterThan(1e-2);
    if (kind === 'adam' || kind === 'adamw') {
      const [m] = adamMoments(cfg, [trainer.state.opt[0], trainer.state.opt[1]]);
      expect(m.every(Number.isFinite)).toBe(true);
    }
    await trainer.dispose();
  });
});
