// `mergemesh train`: local training of one model on MNIST or Fashion-MNIST.
import { writeFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { DATASET_NAMES, type DatasetName } from '../data/dataset.js';
import { loadDataset } from '../data/load.js';
import { defaultModelDef, describeModel, MODEL_KINDS, type ModelKind, type NormKind } from '../model/def.js';
import { exportGraph } from '../model/graphs.js';
import { saveModelFile } from '../model/safetensors.js';
import { encodeModel } from '../tensor/onnx/encode.js';
import { runTrainJob } from '../train/job.js';
import { OPTIMIZER_KINDS, optimizerConfig, type OptimizerKind } from '../train/optimizer.js';
import { runCommand, UserError } from './errors.js';
import { classList, intList, nonNegativeInt, nonNegativeNumber, positiveInt, positiveNumber } from './parse.js';
import { createProgress } from './progress.js';

interface TrainFlags {
  model: ModelKind;
  dataset: DatasetName;
  epochs: number;
  batch: number;
  optimizer: OptimizerKind;
  lr?: number;
  momentum?: number;
  nesterov?: boolean;
  weightDecay?: number;
  seed: number;
  threads: number;
  stepsPerCall?: number;
  hidden?: number[];
  width: number;
  norm: NormKind;
  trainSamples?: number;
  classes?: number[];
  out?: string;
  export?: string;
  json?: boolean;
  quiet?: boolean;
}

export function trainCommand(): Command {
  return new Command('train')
    .description('Train one model locally and report its test accuracy.')
    .addOption(new Option('--model <kind>', 'architecture').choices(MODEL_KINDS as string[]).default('mlp'))
    .addOption(new Option('--dataset <name>', 'dataset').choices(DATASET_NAMES as string[]).default('mnist'))
    .option('--epochs <n>', 'training epochs', positiveInt, 3)
    .option('--batch <b>', 'batch size', positiveInt, 128)
    .addOption(new Option('--optimizer <kind>', 'optimizer').choices(OPTIMIZER_KINDS as string[]).default('adam'))
    .option('--lr <x>', 'learning rate (default: 1e-3 for adam/adamw, 0.01 for sgd/momentum)', positiveNumber)
    .option('--momentum <m>', 'momentum for --optimizer momentum (default 0.9)', nonNegativeNumber)
    .option('--nesterov', 'Nesterov momentum (with --optimizer momentum)')
    .option('--weight-decay <wd>', 'L2 penalty, or decoupled decay for adamw (default 0; 0.01 for adamw)', nonNegativeNumber)
    .option('--seed <s>', 'seed for initialisation and data order', nonNegativeInt, 0)
    .option('--threads <t>', 'ORT intra-op threads', positiveInt, 1)
    .option('--steps-per-call <k>', 'optimiser steps fused into one ORT call (default: 8 mlp, 4 cnn, 2 resnet20)', positiveInt)
    .option('--hidden <widths>', 'MLP hidden widths, e.g. 512,512 (CNN: the FC width)', intList)
    .option('--width <w>', 'ResNet-20 width multiplier', positiveInt, 1)
    .addOption(new Option('--norm <kind>', 'ResNet-20 normalisation').choices(['batchnorm', 'layernorm']).default('batchnorm'))
    .option('--train-samples <n>', 'train on a seeded subset of this many samples', positiveInt)
    .option('--classes <labels>', 'train and test only on these classes, e.g. 0-4 (for disjoint-label merges)', classList)
    .option('--out <file>', 'write the trained model as safetensors')
    .option('--export <file>', 'write a standalone inference ONNX model')
    .option('--json', 'print a JSON summary as the last stdout line')
    .option('--quiet', 'no progress output')
    .addHelpText(
      'after',
      `
Examples:
  mergemesh train                                    # MLP 784-512-512-10 on MNIST, Adam 1e-3, 3 epochs
  mergemesh train --model cnn --epochs 2 --out cnn.safetensors --export cnn.onnx
  mergemesh train --model resnet20 --dataset fashion --optimizer momentum --lr 0.05

With --json the last stdout line is {"test_accuracy", "test_loss", "samples_per_s", "wall_s", ...}.`,
    )
    .action((flags: TrainFlags) => runCommand(() => train(flags)));
}

async function train(f: TrainFlags): Promise<void> {
  if (f.nesterov && f.optimizer !== 'momentum') throw new UserError('--nesterov needs --optimizer momentum');
  if (f.momentum !== undefined && f.optimizer !== 'momentum') throw new UserError('--momentum needs --optimizer momentum');
  if (f.hidden && f.model === 'resnet20') throw new UserError('--hidden applies to mlp and cnn');
  if (f.hidden && f.model === 'cnn' && f.hidden.length !== 1) throw new UserError('--hidden for the cnn is a single width, e.g. 128');
  let input: readonly [number, number, number];
  try {
    input = loadDataset(f.dataset, 'train').shape;
  } catch (e) {
    throw new UserError((e as Error).message);
  }
  const def = defaultModelDef(f.model, input, 10, { width: f.width, norm: f.norm, hidden: f.hidden });
  const optimizer = optimizerConfig(f.optimizer, { lr: f.lr, momentum: f.momentum, nesterov: f.nesterov, weightDecay: f.weightDecay });
  const progress = createProgress({ quiet: f.quiet });
  progress.log(
    `training ${describeModel(def)} on ${f.dataset}: ${f.epochs} epoch(s), batch ${f.batch}, ${f.optimizer} lr ${optimizer.lr}, seed ${f.seed}, ${f.threads} thread(s)`,
  );
  const result = await runTrainJob(
    { model: def, dataset: f.dataset, epochs: f.epochs, batch: f.batch, optimizer, seed: f.seed, threads: f.threads, stepsPerCall: f.stepsPerCall, trainSamples: f.trainSamples, classes: f.classes },
    {
      onEpochStart: (e, total) => progress.start(total, `epoch ${e}/${f.epochs}`),
      onProgress: (_e, p) => progress.update(p.steps, `loss ${p.loss.toFixed(4)}`),
      onEpochEnd: (r) => {
        progress.stop();
        progress.log(
          `epoch ${r.epoch}: train loss ${r.meanLoss.toFixed(4)}, train acc ${(100 * r.trainAccuracy).toFixed(2)}%, test acc ${(100 * r.test.accuracy).toFixed(2)}%, test loss ${r.test.loss.toFixed(4)}, ${Math.round((r.samples / r.wallMs) * 1000)} samples/s`,
        );
      },
    },
  );
  const meta: Record<string, string> = { 'mergemesh.dataset': f.dataset, 'mergemesh.seed': String(f.seed), 'mergemesh.test_accuracy': result.test.accuracy.toFixed(6) };
  if (f.classes) meta['mergemesh.classes'] = JSON.stringify(f.classes);
  if (f.out) saveModelFile(f.out, result.model, result.weights, meta);
  if (f.export) writeFileSync(f.export, encodeModel(exportGraph(result.model, result.weights, meta)));
  const summary = {
    model: def,
    dataset: f.dataset,
    epochs: f.epochs,
    batch: f.batch,
    optimizer: f.optimizer,
    lr: optimizer.lr,
    seed: f.seed,
    threads: f.threads,
    classes: f.classes ?? null,
    test_accuracy: result.test.accuracy,
    test_loss: result.test.loss,
    samples_per_s: result.samplesPerS,
    wall_s: result.wallS,
    per_epoch: result.epochs.map((r) => ({ epoch: r.epoch, train_loss: r.meanLoss, train_accuracy: r.trainAccuracy, test_accuracy: r.test.accuracy, test_loss: r.test.loss })),
    out: f.out ?? null,
    export: f.export ?? null,
  };
  if (f.json) {
    process.stdout.write(`${JSON.stringify(summary)}\n`);
  } else {
    process.stdout.write(
      `test accuracy ${(100 * result.test.accuracy).toFixed(2)}%  test loss ${result.test.loss.toFixed(4)}  ${Math.round(result.samplesPerS)} samples/s  ${result.wallS.toFixed(1)} s\n` +
        (f.out ? `model written to ${f.out}\n` : '') +
        (f.export ? `ONNX model written to ${f.export}\n` : ''),
    );
  }
}
