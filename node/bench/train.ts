// Training throughput: steady-state samples per second of the fused train step on real
// MNIST batches, median of several timed windows after a warm-up that compiles the graph.
import { loadDataset } from '../data/load.js';
import { defaultModelDef, defaultStepsPerCall, type ModelKind } from '../model/def.js';
import { createModel } from '../model/model.js';
import { createRuntime } from '../tensor/runtime/pool.js';
import { optimizerConfig, type OptimizerKind } from '../train/optimizer.js';
import { createTrainer } from '../train/trainer.js';
import { createRng } from '../util/rng.js';
import { gemmReference } from './reference.js';
import { median, round } from './stats.js';

export interface TrainBenchOptions {
  readonly model: ModelKind;
  readonly batch: number;
  readonly threads: number;
  readonly optimizer?: OptimizerKind;
  readonly stepsPerCall?: number;
  readonly reps?: number;
  /** Target duration of one timed window. */
  readonly windowS?: number;
  readonly onStatus?: (line: string) => void;
}

export interface TrainBenchResult {
  readonly bench: 'train';
  readonly model: ModelKind;
  readonly batch: number;
  readonly threads: number;
  readonly optimizer: OptimizerKind;
  readonly steps_per_call: number;
  readonly samples_per_s: number;
  readonly runs: number[];
  readonly step_ms: number;
  /** Share of the window spent inside session.run (the rest is JS and messaging). */
  readonly compute_fraction: number;
  readonly reference_gemm_gflops: number;
}

export async function benchTrain(o: TrainBenchOptions): Promise<TrainBenchResult> {
  const optimizer = o.optimizer ?? 'adam';
  const k = o.stepsPerCall ?? defaultStepsPerCall(o.model);
  const reps = o.reps ?? 5;
  const ds = loadDataset('mnist', 'train');
  const model = createModel(defaultModelDef(o.model, ds.shape, 10));
  const rt = createRuntime({ intraOpThreads: o.threads });
  try {
    const reference = await gemmReference(rt);
    const trainer = createTrainer({ runtime: rt, model, optimizer: optimizerConfig(optimizer), batch: o.batch, stepsPerCall: k }, model.init(0));
    const rng = createRng(0);
    const window = (calls: number) => Int32Array.from({ length: calls * k * o.batch }, (_, i) => i % ds.count);
    // Warm-up: compiles the session and measures roughly how long one call takes.
    o.onStatus?.(`${o.model}: compiling and warming up`);
    await trainer.trainEpoch(ds, window(1), rng);
    const probe = await trainer.trainEpoch(ds, window(1), rng);
    const calls = Math.max(2, Math.ceil(((o.windowS ?? 2) * 1000) / probe.wallMs));
    const runs: number[] = [];
    const fractions: number[] = [];
    for (let r = 0; r < reps; r++) {
      const st = await trainer.trainEpoch(ds, window(calls), rng);
      runs.push((st.samples / st.wallMs) * 1000);
      fractions.push(st.computeMs / st.wallMs);
      o.onStatus?.(`${o.model} threads=${o.threads}: window ${r + 1}/${reps}: ${Math.round(runs[r])} samples/s`);
    }
    await trainer.dispose();
    const sps = median(runs);
    return {
      bench: 'train',
      model: o.model,
      batch: o.batch,
      threads: o.threads,
      optimizer,
      steps_per_call: k,
      samples_per_s: round(sps, 0),
      runs: runs.map((x) => round(x, 0)),
      step_ms: round((o.batch / sps) * 1000, 2),
      compute_fraction: round(median(fractions), 3),
      reference_gemm_gflops: round(reference, 1),
    };
  } finally {
    await rt.close();
  }
}
