// `mergemesh merge`: merge model files with an alignment method and report what it did.
import { Command, Option } from 'commander';
import { DATASET_NAMES, type Dataset, type DatasetName } from '../data/dataset.js';
import { loadDataset } from '../data/load.js';
import { describeModel } from '../model/def.js';
import { permuteWeights } from '../model/permute.js';
import { loadModelFile, saveModelFile, type ModelFile } from '../model/safetensors.js';
import { MATCH_SCORES, type MatchScore } from '../merge/align.js';
import { ensembleTaskMetrics, interpolationPath, modelTaskMetrics, type TaskMetrics } from '../merge/evaluate.js';
import { MERGE_METHODS, mergeModels, REPAIR_MODES, type MergeMethod, type RepairMode } from '../merge/merge.js';
import { framePermutations } from '../merge/plan.js';
import { sequentialLayers } from '../merge/zipit.js';
import { createRuntime } from '../tensor/runtime/pool.js';
import { evaluate } from '../train/evaluate.js';
import { createRng } from '../util/rng.js';
import { runCommand, UserError } from './errors.js';
import { nonNegativeInt, nonNegativeNumber, numberList, positiveInt, widthRatios } from './parse.js';

interface MergeFlags {
  method: MergeMethod;
  weights?: number[];
  dataset?: DatasetName;
  samples: number;
  seed: number;
  score: MatchScore;
  margin: number;
  reference: 'first' | 'mean';
  zipUntil?: string;
  alpha: number;
  beta: number;
  widthRatio: number | Map<string, number>;
  refit: boolean;
  repair: RepairMode;
  threads: number;
  out?: string;
  json?: boolean;
  quiet?: boolean;
}

export function mergeCommand(): Command {
  return new Command('merge')
    .description('Merge two or more model files (same architecture) into one.')
    .argument('<models...>', 'safetensors files written by `mergemesh train` (or `merge`)')
    .addOption(new Option('--method <m>', 'merge method').choices(MERGE_METHODS as string[]).default('activation'))
    .option('--weights <w,...>', 'mixing weights, one per model (default: equal)', numberList)
    .addOption(new Option('--dataset <name>', 'data for activation statistics, repair and evaluation (default: the first file’s)').choices(DATASET_NAMES as string[]))
    .option('--samples <n>', 'unlabelled training samples for alignment and repair', positiveInt, 2000)
    .option('--seed <s>', 'seed for the sample choice and weight matching', nonNegativeInt, 0)
    .addOption(new Option('--score <s>', 'activation matching score').choices(MATCH_SCORES as string[]).default('correlation'))
    .option('--margin <g>', 'keep the identity for groups whose relative alignment gain is below this', nonNegativeNumber, 0)
    .addOption(new Option('--reference <r>', 'with 3+ models: align to the first, or MergeMany (to the mean of the others)').choices(['first', 'mean']).default('first'))
    .option('--zip-until <layer>', 'zipit: merge only up to this layer (a number of layers or a layer name), one head per model after')
    .option('--alpha <a>', 'zipit: re-merge damping α', nonNegativeNumber, 1e-4)
    .option('--beta <b>', 'zipit: within-model merge budget β', nonNegativeNumber, 0.075)
    .option('--width-ratio <r>', 'pleas: merged width over original width in [1, 2], or per group: fc1=1.5,fc2=1.25', widthRatios, 1.25)
    .option('--no-refit', 'pleas: skip the least-squares refit')
    .addOption(new Option('--repair <r>', 'statistics repair: auto (BatchNorm reset), repair (also REPAIR models without norm), rescale (REPAIR of deviations only), none').choices([...REPAIR_MODES]).default('auto'))
    .option('--threads <t>', 'ORT intra-op threads', positiveInt, 1)
    .option('--out <file>', 'write the merged model (safetensors)')
    .option('--json', 'print a JSON summary as the last stdout line')
    .option('--quiet', 'no progress output')
    .addHelpText(
      'after',
      `
Examples:
  mergemesh merge a.safetensors b.safetensors --method activation --out ab.safetensors
  mergemesh merge a.safetensors b.safetensors --method zipit --zip-until 1 --json
  mergemesh merge a.safetensors b.safetensors --method pleas --width-ratio 1.25
  mergemesh merge m1.safetensors m2.safetensors m3.safetensors --method weight --reference mean --weights 2,1,1

With --json the last stdout line is {"inputs": [{path, test_accuracy, test_loss}], "merged": {...},
"path": [{lambda, test_accuracy, test_loss}] (first input to the aligned second, where it applies),
"merge_s", "alignment", and "tasks" with joint and per-task accuracy when the inputs were trained
on different classes (train --classes).`,
    )
    .action((paths: string[], flags: MergeFlags) => runCommand(() => merge(paths, flags)));
}

function taskJson(m: TaskMetrics) {
  return { joint_accuracy: m.joint, per_task_accuracy: m.perTask, task_mean_accuracy: m.taskMean };
}

async function merge(paths: string[], f: MergeFlags): Promise<void> {
  if (paths.length < 2) throw new UserError('merge needs at least two model files');
  const log = (line: string) => !f.quiet && process.stderr.write(`${line}\n`);
  let files: ModelFile[];
  try {
    files = paths.map(loadModelFile);
  } catch (e) {
    throw new UserError((e as Error).message);
  }
  const defJson = JSON.stringify(files[0].model.def);
  files.forEach((file, i) => {
    if (JSON.stringify(file.model.def) !== defJson) throw new UserError(`${paths[i]} is a ${describeModel(file.model.def)}, ${paths[0]} a ${describeModel(files[0].model.def)}: only models of one architecture merge`);
  });
  if (f.weights && f.weights.length !== paths.length) throw new UserError(`--weights gives ${f.weights.length} weights for ${paths.length} models`);
  if ((f.method === 'zipit' || f.method === 'pleas') && paths.length !== 2) throw new UserError(`--method ${f.method} merges exactly two models`);
  if (f.zipUntil !== undefined && f.method !== 'zipit') throw new UserError('--zip-until applies to --method zipit');
  const model = files[0].model;
  let until: number | undefined;
  if (f.zipUntil !== undefined) {
    if (model.def.kind !== 'mlp' && model.def.kind !== 'cnn') throw new UserError('--zip-until needs an mlp or cnn (partial zips of ResNet-20 are not supported)');
    const names = sequentialLayers(model.def).map((l) => l.name);
    until = /^\d+$/.test(f.zipUntil) ? Number(f.zipUntil) : names.indexOf(f.zipUntil) + 1;
    if (!(until >= 1 && until < names.length)) throw new UserError(`--zip-until must be 1..${names.length - 1} or one of ${names.slice(0, -1).join(', ')}`);
  }
  const datasetName = f.dataset ?? ((files[0].metadata['mergemesh.dataset'] as DatasetName | undefined) ?? 'mnist');
  let train: Dataset;
  let test: Dataset;
  try {
    train = loadDataset(datasetName, 'train');
    test = loadDataset(datasetName, 'test');
  } catch (e) {
    throw new UserError((e as Error).message);
  }
  const order = Int32Array.from({ length: train.count }, (_, i) => i);
  createRng(f.seed).shuffle(order);
  const data = { ds: train, indices: order.subarray(0, Math.min(f.samples, train.count)) };
  const classes = files.map((file) => (file.metadata['mergemesh.classes'] ? (JSON.parse(file.metadata['mergemesh.classes']) as number[]) : undefined));
  const disjoint = classes.every((c) => c) && new Set(classes.map((c) => JSON.stringify(c))).size === classes.length;
  const tasks = disjoint ? (classes as number[][]) : undefined;

  const rt = createRuntime({ intraOpThreads: f.threads });
  try {
    log(`merging ${paths.length} × ${describeModel(model.def)} with ${f.method} on ${data.indices.length} ${datasetName} samples`);
    const inputs = [];
    for (let i = 0; i < files.length; i++) {
      const r = await evaluate(rt, model, files[i].weights, test);
      inputs.push({ path: paths[i], test_accuracy: r.accuracy, test_loss: r.loss, ...(tasks ? taskJson(await modelTaskMetrics(rt, model, files[i].weights, test, tasks)) : {}) });
      log(`  ${paths[i]}: test accuracy ${(100 * r.accuracy).toFixed(2)}%`);
    }
    const result = await mergeModels(rt, model, files.map((x) => x.weights), {
      method: f.method,
      mix: f.weights,
      data,
      score: f.score,
      margin: f.margin,
      reference: f.reference,
      zip: { alpha: f.alpha, beta: f.beta, until },
      pleas: { widthRatio: f.widthRatio, refit: f.refit },
      repair: f.repair,
      seed: f.seed,
    });
    const mergedEval = await evaluate(rt, result.model, result.weights, test);
    log(`  merged (${describeModel(result.model.def)}): test accuracy ${(100 * mergedEval.accuracy).toFixed(2)}% in ${(result.ms / 1000).toFixed(2)} s`);

    // The interpolation path from the first model to the second in the first's frame.
    let path: Array<{ lambda: number; test_accuracy: number; test_loss: number }> = [];
    if (f.method === 'average' || f.method === 'weight' || f.method === 'activation') {
      // Both endpoints in the merged frame (with MergeMany the first model moves too).
      const inFrame = (m: number) => (f.method === 'average' ? files[m].weights : permuteWeights(model.layout, model.spec, files[m].weights, framePermutations(result.plan, m)));
      path = (await interpolationPath(rt, model, inFrame(0), inFrame(1), test, data)).map((p) => ({ lambda: p.lambda, test_accuracy: p.accuracy, test_loss: p.loss }));
    }
    const alignment = result.alignments.map((a, i) =>
      a ? { model: paths[i], groups: [...a.values()].map((g) => ({ group: g.group, gain: g.gain, gated: g.gated, score: g.score, identity_score: g.identityScore })) } : null,
    );
    let taskSummary: object | undefined;
    if (tasks) {
      const ens = await ensembleTaskMetrics(rt, model, files.map((x) => x.weights), test, tasks);
      const m = await modelTaskMetrics(rt, result.model, result.weights, test, tasks);
      taskSummary = { classes: tasks, merged: taskJson(m), ensemble: taskJson(ens) };
      log(`  tasks: merged joint ${(100 * m.joint).toFixed(1)}%, per task ${m.perTask.map((x) => (100 * x).toFixed(1)).join('/')}%; ensemble joint ${(100 * ens.joint).toFixed(1)}%`);
    }
    if (f.out) {
      saveModelFile(f.out, result.model, result.weights, {
        'mergemesh.dataset': datasetName,
        'mergemesh.merge': JSON.stringify({ method: f.method, inputs: paths, weights: f.weights ?? null }),
      });
      log(`merged model written to ${f.out}`);
    }
    const summary = {
      method: f.method,
      model: result.model.def,
      inputs,
      merged: { test_accuracy: mergedEval.accuracy, test_loss: mergedEval.loss, ...(taskSummary ? taskJson(await modelTaskMetrics(rt, result.model, result.weights, test, tasks!)) : {}) },
      path,
      merge_s: result.ms / 1000,
      repaired: result.repaired,
      alignment,
      ...(taskSummary ? { tasks: taskSummary } : {}),
      out: f.out ?? null,
    };
    if (f.json) process.stdout.write(`${JSON.stringify(summary)}\n`);
    else process.stdout.write(`merged test accuracy ${(100 * mergedEval.accuracy).toFixed(2)}% (inputs ${inputs.map((x) => (100 * x.test_accuracy).toFixed(2)).join('%, ')}%), ${(result.ms / 1000).toFixed(2)} s\n`);
  } finally {
    await rt.close();
  }
}

