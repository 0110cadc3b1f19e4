// `mergemesh bench …`: performance figures as one JSON line each (npm run bench runs `bench all`).
import { Command, Option } from 'commander';
import { benchLap, benchMerges, type MergeBenchLine } from '../bench/merge.js';
import { STRATEGY_KINDS, type StrategyKind } from '../agent/strategy.js';
import { benchSim, type SimBenchLine } from '../bench/sim.js';
import { benchTrain, type TrainBenchResult } from '../bench/train.js';
import { benchBlob, benchCodecs, benchLatency, type WireBenchLine } from '../bench/wire.js';
import type { MergeMethod } from '../merge/merge.js';
import { MODEL_KINDS, type ModelKind } from '../model/def.js';
import { OPTIMIZER_KINDS, type OptimizerKind } from '../train/optimizer.js';
import { runCommand } from './errors.js';
import { intList, positiveInt } from './parse.js';

function emitLine(json: boolean | undefined, r: MergeBenchLine): void {
  if (json) process.stdout.write(`${JSON.stringify(r)}\n`);
  else if (r.bench === 'lap') process.stdout.write(`lap ${r.n}×${r.n}: ${r.ms} ms (median of ${r.runs.join(', ')})\n`);
  else process.stdout.write(`merge ${r.method} (${r.model}, ${r.samples} samples, ${r.threads} thread(s)): ${r.ms} ms (median of ${r.runs.join(', ')}); reference GEMM ${r.reference_gemm_gflops} GFLOP/s\n`);
}

function emit(json: boolean | undefined, r: TrainBenchResult): void {
  if (json) process.stdout.write(`${JSON.stringify(r)}\n`);
  else {
    process.stdout.write(
      `train ${r.model} batch ${r.batch} threads ${r.threads} (${r.optimizer}): ${r.samples_per_s} samples/s (median of ${r.runs.join(', ')}), ${r.step_ms} ms/step, ` +
        `${Math.round(r.compute_fraction * 100)}% in ORT; reference GEMM ${r.reference_gemm_gflops} GFLOP/s\n`,
    );
  }
}

function emitWire(json: boolean | undefined, r: WireBenchLine): void {
  if (json) process.stdout.write(`${JSON.stringify(r)}\n`);
  else if (r.bench === 'codec')
    process.stdout.write(
      `codec ${r.codec}: ${r.ratio}× of fp32 (${r.bytes_per_version} bytes per version of ${r.params} parameters), encode ${r.encode_ms} ms, max |error| ${r.max_abs_error}, relative error ${r.rel_error}\n`,
    );
  else if (r.bench === 'blob') process.stdout.write(`blob: ${r.mb_per_s} MB/s for ${r.mb} MB between two processes (median of ${r.runs.join(', ')} ms); plain TCP ${r.tcp_reference_mb_per_s} MB/s\n`);
  else process.stdout.write(`announcement latency over ${r.hops} hops: median ${r.ms} ms, p90 ${r.p90_ms} ms (${r.runs} announcements)\n`);
}

function emitSim(json: boolean | undefined, r: SimBenchLine): void {
  if (json) process.stdout.write(`${JSON.stringify(r)}\n`);
  else
    process.stdout.write(
      `sim ${r.agents} agents (${r.strategy}, ${r.workers} workers): ${r.round_s} s per round (median of ${r.round_runs_s.join(', ')}), pure training ${r.train_compute_s} s → ${r.ratio}× (training ${Math.round(100 * r.train_fraction)}% of the round); per agent: align ${r.align_ms_per_agent} ms, merge ${r.merge_ms_per_agent} ms, eval ${r.eval_ms_per_agent} ms\n`,
    );
}

async function simFigures(f: { json?: boolean; quiet?: boolean; agents?: number[]; rounds?: number; strategy?: StrategyKind }): Promise<void> {
  for (const agents of f.agents ?? [8, 32, 64]) emitSim(f.json, await benchSim({ agents, rounds: f.rounds, scenario: f.strategy ? { strategy: { kind: f.strategy } } : {}, onStatus: status(f.quiet) }));
}

async function wireFigures(f: { json?: boolean; quiet?: boolean }): Promise<void> {
  for (const l of await benchCodecs(11, status(f.quiet))) emitWire(f.json, l);
  emitWire(f.json, await benchBlob(5, status(f.quiet)));
  emitWire(f.json, await benchLatency(20, status(f.quiet)));
}

const status = (quiet?: boolean) => (line: string) => {
  if (!quiet) process.stderr.write(`${line}\n`);
};

export function benchCommand(): Command {
  const bench = new Command('bench').description('Measure performance; each figure is one line (JSON with --json).');
  bench
    .command('train')
    .description('Training throughput of the fused train step (samples/s, median of several windows).')
    .addOption(new Option('--model <kind>', 'architecture').choices(MODEL_KINDS as string[]).default('mlp'))
    .option('--batch <b>', 'batch size', positiveInt, 128)
    .option('--threads <t>', 'ORT intra-op threads', positiveInt, 1)
    .addOption(new Option('--optimizer <kind>', 'optimizer').choices(OPTIMIZER_KINDS as string[]).default('adam'))
    .option('--steps-per-call <k>', 'optimiser steps per ORT call (default: 8 mlp, 4 cnn, 2 resnet20)', positiveInt)
    .option('--reps <n>', 'timed windows (the median is reported)', positiveInt, 5)
    .option('--json', 'one JSON line')
    .option('--quiet', 'no status lines on stderr')
    .action((f: { model: ModelKind; batch: number; threads: number; optimizer: OptimizerKind; stepsPerCall?: number; reps: number; json?: boolean; quiet?: boolean }) =>
      runCommand(async () => emit(f.json, await benchTrain({ ...f, onStatus: status(f.quiet) }))),
    );
  bench
    .command('merge')
    .description('Linear assignment at 512/1024/2048 and merges of two 784-512-512-10 MLPs on 2000 samples.')
    .option('--json', 'one JSON line per figure')
    .option('--quiet', 'no status lines on stderr')
    .option('--methods <list>', 'merge methods to time', (v: string) => v.split(',') as MergeMethod[], ['activation', 'weight'] as MergeMethod[])
    .option('--threads <t>', 'ORT intra-op threads for the merges', positiveInt, 1)
    .action((f: { json?: boolean; quiet?: boolean; methods: MergeMethod[]; threads: number }) =>
      runCommand(async () => {
        for (const l of benchLap()) emitLine(f.json, l);
        for (const l of await benchMerges(f.methods, 5, status(f.quiet), f.threads)) emitLine(f.json, l);
      }),
    );
  bench
    .command('wire')
    .description('Bytes per version of each delta codec, blob throughput between two processes, announcement latency over 3 hops.')
    .option('--json', 'one JSON line per figure')
    .option('--quiet', 'no status lines on stderr')
    .action((f: { json?: boolean; quiet?: boolean }) => runCommand(() => wireFigures(f)));
  bench
    .command('sim')
    .description('Wall time per synchronous round for 8, 32 and 64 agents (MNIST MLP) against the pure training compute of that round.')
    .option('--agents <list>', 'cluster sizes', intList, [8, 32, 64])
    .option('--rounds <n>', 'rounds per cluster, at least 3 (the first and the last are reported apart)', positiveInt, 5)
    .addOption(new Option('--strategy <kind>', 'merge strategy (default: the scenario default, frame)').choices(STRATEGY_KINDS as unknown as string[]))
    .option('--json', 'one JSON line per figure')
    .option('--quiet', 'no status lines on stderr')
    .action((f: { json?: boolean; quiet?: boolean; agents: number[]; rounds: number; strategy?: StrategyKind }) => runCommand(() => simFigures(f)));
  bench
    .command('all')
    .description('The standard set (what `npm run bench` runs).')
    .option('--json', 'one JSON line per figure')
    .option('--quiet', 'no status lines on stderr')
    .action((f: { json?: boolean; quiet?: boolean }) =>
      runCommand(async () => {
        for (const model of ['mlp', 'cnn', 'resnet20'] as const) {
          for (const threads of [1, 2]) emit(f.json, await benchTrain({ model, batch: 128, threads, reps: model === 'resnet20' ? 3 : 5, onStatus: status(f.quiet) }));
        }
        for (const l of benchLap()) emitLine(f.json, l);
        for (const threads of [1, 2]) for (const l of await benchMerges(['activation', 'weight'], 5, status(f.quiet), threads)) emitLine(f.json, l);
        await wireFigures(f);
        await simFigures(f);
      }),
    );
  return bench;
}
