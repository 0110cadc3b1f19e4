// Simulator scale: wall time of a synchronous round for n agents (MNIST MLP, IID shards, the
// default strategy) against the pure training compute of that round, measured in the same
// process: the same n shards trained one local epoch each on the same worker pool, with no
// evaluation, network or merging.
import { loadDataset } from '../data/load.js';
import { createModel } from '../model/model.js';
import { createRuntime } from '../tensor/runtime/pool.js';
import { optimizerConfig } from '../train/optimizer.js';
import { createTrainer } from '../train/trainer.js';
import { createRng } from '../util/rng.js';
import { agentShards, modelDefOf, runScenario } from '../../sim/run.js';
import { parseScenario, type ScenarioInput } from '../../sim/scenario.js';
import { median, round } from './stats.js';

export interface SimBenchLine {
  readonly bench: 'sim';
  readonly agents: number;
  readonly strategy: string;
  readonly rounds: number;
  /**
   * Median wall time of rounds 2…R−1: round 1 includes the first cross-frame alignments, and
   * round R has no next round's training to overlap its merges (agents train as soon as they
   * have merged), so it is shorter than a round in a longer run.
   */
  readonly round_s: number;
  readonly round_runs_s: number[];
  /** Wall time of the same local training alone (median of `reps`, split before and after the run). */
  readonly train_compute_s: number;
  /** round_s / train_compute_s (goal ≤ 2). */
  readonly ratio: number;
  /** train_compute_s / round_s. */
  readonly train_fraction: number;
  /** Per-round means over agents (ms) of the parts of a round. */
  readonly align_ms_per_agent: number;
  readonly merge_ms_per_agent: number;
  readonly eval_ms_per_agent: number;
  readonly workers: number;
  readonly first_round_s: number;
  readonly last_round_s: number;
}

export interface SimBenchOptions {
  readonly agents: number;
  readonly rounds?: number;
  readonly workers?: number;
  readonly reps?: number;
  readonly scenario?: ScenarioInput;
  readonly onStatus?: (line: string) => void;
}

export async function benchSim(o: SimBenchOptions): Promise<SimBenchLine> {
  const rounds = o.rounds ?? 5;
  if (rounds < 3) throw new Error(`bench sim: at least 3 rounds are needed (the first and the last are not steady), got ${rounds}`);
  const workers = o.workers ?? 2;
  // Measurement that is not part of a round's work is kept small: 500 test samples per agent,
  // no evaluation before the merge, no aligned consensus (a weight matching of every model).
  const s = parseScenario({
    name: `bench-${o.agents}`,
    agents: o.agents,
    rounds,
    data: { test_samples: 500 },
    compute: { workers },
    metrics: { aligned_consensus: false, eval_trained: false },
    ...o.scenario,
  });
  // The reference is measured before and after the run, so that a slow or fast spell of a
  // shared machine weighs on both sides of the ratio alike.
  const train = loadDataset('mnist', 'train');
  const model = createModel(modelDefOf(s, train));
  const parts = agentShards(s, train);
  const reference = async (reps: number, label: string): Promise<number[]> => {
    o.onStatus?.(`sim ${o.agents} agents: reference ${label} (local training only)`);
    const rt = createRuntime({ workers, intraOpThreads: 1 });
    const refs: number[] = [];
    try {
      const trainers = parts.map((_, i) => createTrainer({ runtime: rt, model, optimizer: optimizerConfig(s.train.optimizer), batch: s.train.batch }, model.init(s.seed + i)));
      const all = parts.map((d) => Int32Array.from({ length: d.count }, (_, k) => k));
      const epoch = () => Promise.all(trainers.map((t, i) => t.trainEpoch(parts[i], all[i], createRng(i))));
      await epoch(); // compiles
      for (let r = 0; r < reps; r++) {
        const t0 = performance.now();
        await epoch();
        refs.push((performance.now() - t0) / 1000);
      }
      await Promise.all(trainers.map((t) => t.dispose()));
    } finally {
      await rt.close();
    }
    return refs;
  };
  const reps = o.reps ?? 3;
  const before = await reference(Math.ceil(reps / 2), 'before');
  o.onStatus?.(`sim ${o.agents} agents: ${rounds} rounds`);
  const res = await runScenario(s, { onStatus: (l) => o.onStatus?.(`  ${l}`) });
  const walls = res.rounds.map((r) => r.wall_s);
  const durations = walls.slice(1).map((w, i) => w - walls[i]);
  const steady = durations.slice(1, -1);
  const refs = [...before, ...(await reference(Math.max(1, reps - before.length), 'after'))];
  const roundS = median(steady);
  const ref = median(refs);
  const per = (k: 'align_ms' | 'merge_ms' | 'eval_ms') => round(median(res.rounds.slice(2).map((r) => r[k] / o.agents)), 1);
  return {
    bench: 'sim',
    agents: o.agents,
    strategy: s.strategy.kind,
    rounds,
    round_s: round(roundS, 3),
    round_runs_s: steady.map((d) => round(d, 3)),
    train_compute_s: round(ref, 3),
    ratio: round(roundS / ref, 2),
    train_fraction: round(ref / roundS, 2),
    align_ms_per_agent: per('align_ms'),
    merge_ms_per_agent: per('merge_ms'),
    eval_ms_per_agent: per('eval_ms'),
    workers,
    first_round_s: round(durations[0], 3),
    last_round_s: round(durations[durations.length - 1], 3),
  };
}
