// The fused train step: K optimiser steps per ORT call, each forward → loss → backward →
// update, unrolled into one graph. Weights, optimiser state and batches cross the JS/ORT
// boundary once per call instead of once per step.
import type { InputScaling } from '../data/dataset.js';
import { buildForward, pixelInput, weightInputs } from '../model/graphs.js';
import type { Model } from '../model/model.js';
import { gradients } from '../tensor/autodiff.js';
import { compileGraph } from '../tensor/compile.js';
import { Graph, STANDARD_TARGET, type CompileTarget, type Tensor } from '../tensor/graph.js';
import type { OnnxModel } from '../tensor/onnx/model.js';
import { argMax, cast, concat, equal, reduceSum, reshape, slice, softmaxCrossEntropy, split } from '../tensor/ops/index.js';
import { applyUpdate, SCALARS_PER_STEP, stateSlots, type OptimizerConfig } from './optimizer.js';

export interface TrainStepSpec {
  readonly batch: number;
  /** Optimiser steps per call. */
  readonly steps: number;
  /** Batches arrive as uint8 pixels scaled in the graph. */
  readonly pixels: InputScaling;
}

/**
 * Inputs: 'w:<tensor>' for every weight, 'opt<i>:<tensor>' for every parameter and state
 * slot, 'x<k>' [B, C, H, W] uint8 pixels and 'y<k>' [B] int64 for each step k, 'scalars' [K, 3]. Outputs: 'w_out:<tensor>',
 * 'opt<i>_out:<tensor>', 'loss' [K] (each step's mean loss) and 'correct' [K] (correct
 * predictions in each step's batch). Everything stays per tensor: no Split/Concat copies.
 */
export function trainStepGraph(model: Model, cfg: OptimizerConfig, spec: TrainStepSpec, target: CompileTarget = STANDARD_TARGET): OnnxModel {
  const { batch, steps } = spec;
  if (!Number.isInteger(batch) || batch < 1) throw new Error(`train step: batch must be a positive integer, got ${batch}`);
  if (!Number.isInteger(steps) || steps < 1) throw new Error(`train step: steps must be a positive integer, got ${steps}`);
  if (model.heads > 1) throw new Error('train step: multi-head models are merge results and cannot be trained');
  const { layout } = model;
  const paramEntries = layout.entries.filter((e) => e.kind === 'param');
  const g = new Graph();
  let weights = weightInputs(g, layout, 'w:');
  const slots = stateSlots(cfg);
  let state = Array.from({ length: slots }, (_, i) => weightInputs(g, layout, `opt${i}:`, 'param'));
  // One input per step (views of one stacked array on the JS side): splitting a stacked
  // input inside the graph would copy every batch.
  const xSteps = Array.from({ length: steps }, (_, k) => pixelInput(g, `x${k}`, [batch, ...model.input], spec.pixels));
  const ySteps = Array.from({ length: steps }, (_, k) => g.input(`y${k}`, [batch], 'int64'));
  const scalars = g.input('scalars', [steps, SCALARS_PER_STEP]);

  const losses: Tensor[] = [];
  const corrects: Tensor[] = [];
  for (let k = 0; k < steps; k++) {
    const x = xSteps[k];
    const y = ySteps[k];
    const fwd = buildForward(model, { graph: g, batch, training: true, params: weights, x });
    const loss = softmaxCrossEntropy(fwd.logits, y);
    const params = paramEntries.map((e) => weights.get(e.name)!);
    const grads = gradients(loss, params);
    const s = split(reshape(slice(scalars, [k], [k + 1], [0]), [SCALARS_PER_STEP]), 0, [1, 1, 1]).map((t) => reshape(t, []));
    const next = new Map(weights);
    const nextState = state.map(() => new Map<string, Tensor>());
    paramEntries.forEach((e, i) => {
      const upd = applyUpdate(cfg, params[i], grads[i], state.map((m) => m.get(e.name)!), s);
      next.set(e.name, upd.params);
      upd.state.forEach((t, j) => nextState[j].set(e.name, t));
    });
    for (const [name, t] of fwd.buffers) next.set(name, t);
    weights = next;
    state = nextState;
    losses.push(reshape(loss, [1]));
    corrects.push(reshape(reduceSum(cast(equal(argMax(fwd.logits, 1), y), 'float32')), [1]));
  }
  const outputs: Record<string, Tensor> = { loss: concat(losses, 0), correct: concat(corrects, 0) };
  for (const [name, t] of weights) outputs[`w_out:${name}`] = t;
  state.forEach((m, i) => {
    for (const [name, t] of m) outputs[`opt${i}_out:${name}`] = t;
  });
  return compileGraph(g, outputs, { name: 'mergemesh_train_step', target });
}
