// Local training: shuffles a shard, packs K batches per call, and runs the fused train
// step in the ORT worker. The next call's batches are packed while the current one runs.
import { gatherBatch, inputScaling, type Dataset, type InputScaling } from '../data/dataset.js';
import { defaultStepsPerCall } from '../model/def.js';
import type { Model } from '../model/model.js';
import { encodeModel } from '../tensor/onnx/encode.js';
import type { HostTensor } from '../tensor/host.js';
import { compiledModel, type CompiledModel, type PackSpec, type Runtime } from '../tensor/runtime/pool.js';
import { weightFeeds, weightPack } from '../model/weights-io.js';
import type { Rng } from '../util/rng.js';
import { SCALARS_PER_STEP, stateSlots, stepScalars, type OptimizerConfig } from './optimizer.js';
import { trainStepGraph } from './step-graph.js';

export interface TrainState {
  /** Parameters then buffers (the model's flat layout). */
  weights: Float32Array;
  /** Optimiser state vectors, each of the parameter prefix's length. */
  opt: Float32Array[];
  /** Optimiser steps taken (Adam's bias correction depends on it). */
  step: number;
}

export interface TrainerOptions {
  readonly runtime: Runtime;
  readonly model: Model;
  readonly optimizer: OptimizerConfig;
  readonly batch: number;
  /** Optimiser steps fused into one ORT call (default: by model kind, see defaultStepsPerCall). */
  readonly stepsPerCall?: number;
}

export interface EpochProgress {
  readonly steps: number;
  readonly totalSteps: number;
  readonly samples: number;
  readonly loss: number;
}

export interface EpochStats {
  readonly steps: number;
  readonly samples: number;
  readonly meanLoss: number;
  readonly trainAccuracy: number;
  readonly wallMs: number;
  /** Time ORT spent inside session.run. */
  readonly computeMs: number;
}

export interface Trainer {
  readonly model: Model;
  readonly state: TrainState;
  /** Fresh optimiser state (e.g. DIMAT's per-round fresh Adam). */
  resetOptimizer(): void;
  /**
   * One pass over `indices` of `ds` in an order shuffled by `rng`; the last partial batch is
   * dropped (so every step sees exactly `batch` samples).
   */
  trainEpoch(ds: Dataset, indices: ArrayLike<number>, rng: Rng, onProgress?: (p: EpochProgress) => void): Promise<EpochStats>;
  /** Releases the compiled sessions. */
  dispose(): Promise<void>;
}

const sharedGraphs = new WeakMap<Model, Map<string, { compiled: CompiledModel; users: number }>>();

export function createTrainer(opts: TrainerOptions, initial: Float32Array): Trainer {
  const { runtime, model, optimizer } = opts;
  const batch = opts.batch;
  const k = opts.stepsPerCall ?? defaultStepsPerCall(model.def.kind);
  if (!Number.isInteger(batch) || batch < 1) throw new Error(`batch size must be a positive integer, got ${batch}`);
  if (!Number.isInteger(k) || k < 1) throw new Error(`stepsPerCall must be a positive integer, got ${k}`);
  if (initial.length !== model.layout.totalSize) throw new Error(`trainer: weights have ${initial.length} values, model needs ${model.layout.totalSize}`);
  const slots = stateSlots(optimizer);
  const fresh = () => Array.from({ length: slots }, () => new Float32Array(model.layout.paramSize));
  const state: TrainState = { weights: initial.slice(), opt: fresh(), step: 0 };
  const graphs = new Map<string, CompiledModel>();
  const graphFor = async (steps: number, pixels: InputScaling): Promise<CompiledModel> => {
    const target = await runtime.target();
    const key = `${JSON.stringify(optimizer)}:${batch}:${steps}:${pixels.scale}:${pixels.shift}:${target.nchwcBlock ?? 0}`;
    let m = graphs.get(key);
    if (m) return m;
    // Trainers of one model (a simulated cluster's agents) share the encoded graph.
    let shared = sharedGraphs.get(model);
    if (!shared) sharedGraphs.set(model, (shared = new Map()));
    let entry = shared.get(key);
    if (!entry) shared.set(key, (entry = { compiled: compiledModel(encodeModel(trainStepGraph(model, optimizer, { batch, steps, pixels }, target))), users: 0 }));
    entry.users++;
    graphs.set(key, (m = entry.compiled));
    return m;
  };
  const sampleSize = model.input[0] * model.input[1] * model.input[2];
  // Input buffers back from the worker, by byte length: a call's batches, labels and step
  // scalars are packed into them instead of new arrays (a simulated cluster packs thousands a round).
  const spare = new Map<number, ArrayBuffer[]>();
  const reuse = (bytes: number): ArrayBuffer => spare.get(bytes)?.pop() ?? new ArrayBuffer(bytes);
  const keep = (b: ArrayBuffer) => {
    const list = spare.get(b.byteLength) ?? [];
    if (list.length < 2) list.push(b);
    spare.set(b.byteLength, list);
  };
  const packs: Record<string, PackSpec> = { weights: weightPack(model.layout, 'w_out:') };
  for (let i = 0; i < slots; i++) packs[`opt${i}`] = weightPack(model.layout, `opt${i}_out:`, 'param');

  return {
    model,
    state,
    resetOptimizer() {
      // Zeroed in place: a simulated cluster resets every agent every round, and fresh arrays
      // were a megabyte per agent for the collector. (An array still out with a worker after a
      // failed call has length 0 and is replaced.)
      if (state.opt.every((o) => o.length === model.layout.paramSize)) for (const o of state.opt) o.fill(0);
      else state.opt = fresh();
      state.step = 0;
    },
    async trainEpoch(ds, indices, rng, onProgress) {
      if (ds.shape.some((d, i) => d !== model.input[i])) {
        throw new Error(`dataset samples are [${ds.shape}] but the model expects [${model.input}]`);
      }
      const t0 = performance.now();
      const order = Int32Array.from(indices);
      rng.shuffle(order);
      const totalSteps = Math.floor(order.length / batch);
      let computeMs = 0;
      let lossSum = 0;
      let correct = 0;
      const pixels = inputScaling(ds);
      const pack = (firstStep: number, steps: number) => {
        // Every sample and label is written below; scalars a step does not use stay zero.
        const x = new Uint8Array(reuse(steps * batch * sampleSize));
        const y = new BigInt64Array(reuse(8 * steps * batch));
        gatherBatch(ds, order, firstStep * batch, steps * batch, x, y);
        const scalars = new Float32Array(reuse(4 * steps * SCALARS_PER_STEP)).fill(0);
        return { x, y, scalars, steps };
      };
      let done = 0;
      let next = totalSteps > 0 ? pack(0, Math.min(k, totalSteps)) : undefined;
      while (next) {
        const cur = next;
        for (let s = 0; s < cur.steps; s++) scalarsInto(cur.scalars, s, stepScalars(optimizer, state.step + s + 1));
        const feeds: Record<string, HostTensor> = {
          ...weightFeeds(model.layout, state.weights, 'w:'),
          ...Object.assign({}, ...state.opt.map((o, i) => weightFeeds(model.layout, o, `opt${i}:`, 'param'))),
          scalars: { dtype: 'float32', dims: [cur.steps, SCALARS_PER_STEP], data: cur.scalars },
        };
        for (let s = 0; s < cur.steps; s++) {
          feeds[`x${s}`] = { dtype: 'uint8', dims: [batch, ...model.input], data: cur.x.subarray(s * batch * sampleSize, (s + 1) * batch * sampleSize) };
          feeds[`y${s}`] = { dtype: 'int64', dims: [batch], data: cur.y.subarray(s * batch, (s + 1) * batch) };
        }
        const transfer = [state.weights, cur.x, cur.y, cur.scalars, ...state.opt].map((a) => a.buffer as ArrayBuffer);
        const graph = await graphFor(cur.steps, pixels);
        const running = runtime.run(graph, feeds, { transfer, pack: packs, background: true, recycle: ['x0', 'y0', 'scalars'] });
        // Pack the next call's batches while the worker computes this one.
        const after = done + cur.steps;
        next = after < totalSteps ? pack(after, Math.min(k, totalSteps - after)) : undefined;
        const res = await running;
        for (const b of res.recycled) keep(b);
        computeMs += res.ms;
        state.weights = res.outputs.weights.data as Float32Array;
        state.opt = state.opt.map((_, i) => res.outputs[`opt${i}`].data as Float32Array);
        state.step += cur.steps;
        done = after;
        const losses = res.outputs.loss.data as Float32Array;
        for (const l of losses) lossSum += l;
        for (const c of res.outputs.correct.data as Float32Array) correct += c;
        if (!losses.every(Number.isFinite)) throw new Error(`training diverged at step ${state.step} (loss ${losses.join(', ')}); try a lower learning rate`);
        onProgress?.({ steps: done, totalSteps, samples: done * batch, loss: losses[losses.length - 1] });
      }
      return {
        steps: totalSteps,
        samples: totalSteps * batch,
        meanLoss: totalSteps ? lossSum / totalSteps : NaN,
        trainAccuracy: totalSteps ? correct / (totalSteps * batch) : NaN,
        wallMs: performance.now() - t0,
        computeMs,
      };
    },
    async dispose() {
      const shared = sharedGraphs.get(model);
      const unused: CompiledModel[] = [];
      for (const [key, m] of graphs) {
        const entry = shared?.get(key);
        // The sessions go when the last trainer using them is disposed.
        if (entry && --entry.users > 0) continue;
        shared?.delete(key);
        unused.push(m);
      }
      graphs.clear();
      await Promise.all(unused.map((m) => runtime.release(m)));
    },
  };
}

function scalarsInto(out: Float32Array, step: number, values: number[]): void {
  out.set(values, step * SCALARS_PER_STEP);
}
