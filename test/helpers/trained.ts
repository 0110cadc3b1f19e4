// Small models trained on real MNIST, shared by the merge tests (seeded, so reproducible).
import type { ModelDef } from '../../node/model/def.js';
import type { Runtime } from '../../node/tensor/runtime/pool.js';
import { runTrainJob, type TrainJobResult } from '../../node/train/job.js';
import { optimizerConfig } from '../../node/train/optimizer.js';

export function mlpDef(h: number): ModelDef {
  return { kind: 'mlp', input: [1, 28, 28], hidden: [h, h], classes: 10 };
}

export async function trainMlp(rt: Runtime, h: number, seed: number, epochs: number, classes?: number[]): Promise<TrainJobResult> {
  return runTrainJob({ model: mlpDef(h), dataset: 'mnist', epochs, batch: 128, optimizer: optimizerConfig('adam'), seed, runtime: rt, classes });
}
