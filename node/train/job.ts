// A complete local training run (what `mergemesh train` does), usable from code and tests.
import { subset, type Dataset, type DatasetName } from '../data/dataset.js';
import { loadDataset } from '../data/load.js';
import { ioOf, type ModelDef } from '../model/def.js';
import { createModel, type Model } from '../model/model.js';
import { createRuntime, type Runtime } from '../tensor/runtime/pool.js';
import { createRng } from '../util/rng.js';
import { evaluate, type EvalResult } from './evaluate.js';
import type { OptimizerConfig } from './optimizer.js';
import { createTrainer, type EpochProgress, type EpochStats } from './trainer.js';

export interface TrainJobOptions {
  readonly model: ModelDef;
  readonly dataset: DatasetName;
  readonly epochs: number;
  readonly batch: number;
  readonly optimizer: OptimizerConfig;
  readonly seed: number;
  /** ORT intra-op threads (ignored when a runtime is passed). */
  readonly threads?: number;
  readonly stepsPerCall?: number;
  /** Train on the first N samples of a seeded shuffle of the training set (default: all). */
  readonly trainSamples?: number;
  /** Train (and test) only on samples of these classes; the head keeps every class. */
  readonly classes?: ReadonlyArray<number>;
  readonly testSamples?: number;
  readonly runtime?: Runtime;
  /** Initial weights (default: the model's seeded initialisation). */
  readonly initial?: Float32Array;
}

export interface EpochReport extends EpochStats {
  readonly epoch: number;
  readonly test: EvalResult;
}

export interface TrainJobResult {
  readonly model: Model;
  readonly weights: Float32Array;
  readonly epochs: ReadonlyArray<EpochReport>;
  readonly test: EvalResult;
  /** Training samples per second over all epochs (evaluation excluded). */
  readonly samplesPerS: number;
  readonly wallS: number;
}

export interface TrainJobHooks {
  onEpochStart?(epoch: number, totalSteps: number): void;
  onProgress?(epoch: number, p: EpochProgress): void;
  onEpochEnd?(r: EpochReport): void;
}

function firstOf(ds: Dataset, n: number | undefined, seed: number, classes?: ReadonlyArray<number>): Dataset {
  const keep = classes ? new Set(classes) : undefined;
  if ((n === undefined || n >= ds.count) && !keep) return ds;
  const idx = Int32Array.from({ length: ds.count }, (_, i) => i).filter((i) => !keep || keep.has(ds.labels[i]));
  createRng(seed).shuffle(idx);
  return subset(ds, idx.subarray(0, n ?? idx.length));
}

export async function runTrainJob(opts: TrainJobOptions, hooks: TrainJobHooks = {}): Promise<TrainJobResult> {
  const t0 = performance.now();
  const model = createModel(opts.model);
  if (opts.classes) {
    const bad = opts.classes.find((c) => !Number.isInteger(c) || c < 0 || c >= ioOf(opts.model).classes);
    if (bad !== undefined || opts.classes.length === 0) throw new Error(`classes must be a non-empty list of labels in 0..${ioOf(opts.model).classes - 1}`);
  }
  const train = firstOf(loadDataset(opts.dataset, 'train'), opts.trainSamples, opts.seed + 101, opts.classes);
  const test = firstOf(loadDataset(opts.dataset, 'test'), opts.testSamples, opts.seed + 202, opts.classes);
  if (train.shape.some((d, i) => d !== model.input[i])) {
    throw new Error(`${opts.dataset} samples are [${train.shape}] but the model expects [${model.input}]`);
  }
  if (train.count < opts.batch) throw new Error(`batch size ${opts.batch} exceeds the ${train.count} training samples`);
  const runtime = opts.runtime ?? createRuntime({ intraOpThreads: opts.threads ?? 1 });
  const trainer = createTrainer(
    { runtime, model, optimizer: opts.optimizer, batch: opts.batch, stepsPerCall: opts.stepsPerCall },
    opts.initial ?? model.init(opts.seed),
  );
  const rng = createRng(opts.seed).fork(1);
  const all = Int32Array.from({ length: train.count }, (_, i) => i);
  const epochs: EpochReport[] = [];
  let trainMs = 0;
  let samples = 0;
  try {
    for (let e = 1; e <= opts.epochs; e++) {
      hooks.onEpochStart?.(e, Math.floor(train.count / opts.batch));
      const st = await trainer.trainEpoch(train, all, rng, (p) => hooks.onProgress?.(e, p));
      trainMs += st.wallMs;
      samples += st.samples;
      const ev = await evaluate(runtime, model, trainer.state.weights, test);
      const report: EpochReport = { ...st, epoch: e, test: ev };
      epochs.push(report);
      hooks.onEpochEnd?.(report);
    }
    const weights = trainer.state.weights;
    const final = epochs.length ? epochs[epochs.length - 1].test : await evaluate(runtime, model, weights, test);
    return { model, weights, epochs, test: final, samplesPerS: trainMs > 0 ? (samples / trainMs) * 1000 : 0, wallS: (performance.now() - t0) / 1000 };
  } finally {
    await trainer.dispose();
    if (!opts.runtime) await runtime.close();
  }
}
