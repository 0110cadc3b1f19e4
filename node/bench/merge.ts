// Merging speed: the linear assignment alone, and whole merges of two trained MLPs.
import { loadDataset } from '../data/load.js';
import { mergeModels, type MergeMethod } from '../merge/merge.js';
import { linearAssignment } from '../tensor/linalg/lap.js';
import { createRuntime } from '../tensor/runtime/pool.js';
import { runTrainJob } from '../train/job.js';
import { optimizerConfig } from '../train/optimizer.js';
import { createRng } from '../util/rng.js';
import { gemmReference } from './reference.js';
import { median, round } from './stats.js';

export type MergeBenchLine =
  | { bench: 'lap'; n: number; ms: number; runs: number[] }
  | { bench: 'merge'; method: MergeMethod; model: string; samples: number; threads: number; ms: number; runs: number[]; reference_gemm_gflops: number };

/** Uniform random square matrices, like scipy's benchmark of linear_sum_assignment. */
export function benchLap(sizes: ReadonlyArray<number> = [512, 1024, 2048], reps = 5): MergeBenchLine[] {
  const out: MergeBenchLine[] = [];
  // Warm the JIT on a mid-size problem first.
  const warm = createRng(1);
  linearAssignment(Float64Array.from({ length: 256 * 256 }, () => warm.next()), 256, 256);
  for (const n of sizes) {
    const runs: number[] = [];
    for (let r = 0; r < (n >= 2048 ? Math.max(3, reps - 2) : reps); r++) {
      const rng = createRng(n * 31 + r);
      const c = Float64Array.from({ length: n * n }, () => rng.next());
      const t0 = performance.now();
      linearAssignment(c, n, n);
      runs.push(performance.now() - t0);
    }
    out.push({ bench: 'lap', n, ms: round(median(runs), 1), runs: runs.map((x) => round(x, 1)) });
  }
  return out;
}

/** Merges of two 784-512-512-10 MLPs trained briefly from different seeds, on 2000 samples. */
export async function benchMerges(methods: ReadonlyArray<MergeMethod> = ['activation', 'weight'], reps = 5, onStatus?: (s: string) => void, threads = 1): Promise<MergeBenchLine[]> {
  const rt = createRuntime({ intraOpThreads: threads });
  try {
    const reference = await gemmReference(rt);
    const def = { kind: 'mlp', input: [1, 28, 28], hidden: [512, 512], classes: 10 } as const;
    onStatus?.('training two MLPs for the merge benchmark');
    const models: Awaited<ReturnType<typeof runTrainJob>>[] = [];
    for (const seed of [1, 2]) models.push(await runTrainJob({ model: def, dataset: 'mnist', epochs: 1, batch: 128, optimizer: optimizerConfig('adam'), seed, trainSamples: 20_000, testSamples: 1000, runtime: rt }));
    const train = loadDataset('mnist', 'train');
    const order = Int32Array.from({ length: train.count }, (_, i) => i);
    createRng(3).shuffle(order);
    const data = { ds: train, indices: order.subarray(0, 2000) };
    const out: MergeBenchLine[] = [];
    for (const method of methods) {
      const run = () => mergeModels(rt, models[0].model, [models[0].weights, models[1].weights], { method, data, repair: 'none' });
      await run(); // compiles the statistics and GEMM sessions
      const runs: number[] = [];
      for (let r = 0; r < reps; r++) runs.push((await run()).ms);
      onStatus?.(`merge ${method}: ${runs.map((x) => x.toFixed(0)).join(', ')} ms`);
      out.push({ bench: 'merge', method, model: 'mlp 784-512-512-10', samples: 2000, threads, ms: round(median(runs), 1), runs: runs.map((x) => round(x, 1)), reference_gemm_gflops: round(reference, 1) });
    }
    return out;
  } finally {
    await rt.close();
  }
}
