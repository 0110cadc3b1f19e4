// One merge-and-train agent: its model, its data shard, its optimiser, its frame. It trains
// and merges when told to; the loop (loop.ts) decides when, and talks to the network.
import type { Dataset } from '../data/dataset.js';
import type { Model } from '../model/model.js';
import type { OptimizerConfig } from '../train/optimizer.js';
import { createTrainer, type Trainer } from '../train/trainer.js';
import type { Runtime } from '../tensor/runtime/pool.js';
import { createRng } from '../util/rng.js';
import type { AlignmentCache } from './alignment-cache.js';
import { mergeStep, type MergeInput, type MergeReport, type StrategyConfig } from './strategy.js';

export interface AgentOptions {
  readonly index: number;
  readonly runtime: Runtime;
  /** Shared by every agent of a run (compiled graphs are cached per model). */
  readonly model: Model;
  readonly shard: Dataset;
  /** Unlabelled samples used for alignment and norm repair (own shard by default). */
  readonly alignData: { readonly ds: Dataset; readonly indices: ArrayLike<number> };
  readonly optimizer: OptimizerConfig;
  readonly batch: number;
  readonly epochsPerRound: number;
  /** Fresh optimiser state every round (DIMAT's choice) or kept across rounds. */
  readonly resetOptimizer: boolean;
  readonly strategy: StrategyConfig;
  readonly seed: number;
  readonly initial: Float32Array;
  /** The frame the initial weights are in (named by their init seed, frame.ts). */
  readonly frame: number;
  readonly stepsPerCall?: number;
  /** Weight matchings of published versions; agents of one process may share it. */
  readonly alignments?: AlignmentCache;
  /** Called between training calls; throwing from it abandons the epoch (a peer stopping). */
  readonly onTrainProgress?: () => void;
}

export interface TrainReport {
  readonly samples: number;
  readonly steps: number;
  readonly loss: number;
  readonly ms: number;
  /** Time inside ORT. */
  readonly computeMs: number;
}

export interface Agent {
  readonly index: number;
  readonly weights: Float32Array;
  readonly frame: number;
  /** Trains `epochs` passes over the shard (default: epochs per round; fractions use a seeded part). */
  train(epochs?: number): Promise<TrainReport>;
  /**
   * Merges with neighbours' versions (own weight `self`); the result replaces the weights.
   * `published` is the version of the current weights this agent announced, if it did.
   */
  merge(self: number, others: ReadonlyArray<MergeInput>, published?: MergeInput['version']): Promise<MergeReport>;
  dispose(): Promise<void>;
}

export function createAgent(o: AgentOptions): Agent {
  if (o.shard.count < o.batch) throw new Error(`agent ${o.index}: batch ${o.batch} exceeds its ${o.shard.count} training samples`);
  const trainer: Trainer = createTrainer({ runtime: o.runtime, model: o.model, optimizer: o.optimizer, batch: o.batch, stepsPerCall: o.stepsPerCall }, o.initial);
  const rng = createRng(o.seed).fork(o.index + 1);
  const all = Int32Array.from({ length: o.shard.count }, (_, i) => i);
  // Labelled samples for the frame policy's task check (shards are shuffled: a random subset).
  const own = { ds: o.shard, indices: all.subarray(0, Math.min(o.strategy.taskSamples, all.length)) };
  let frame = o.frame;
  let merges = 0;
  const taskVerdicts = new Map<number, boolean>();
  // Where frame merges are written before being copied into the trainer (one array for the agent's life).
  const mergeOut = o.strategy.kind === 'frame' ? new Float32Array(o.model.layout.totalSize) : undefined;
  return {
    index: o.index,
    get weights() {
      return trainer.state.weights;
    },
    get frame() {
      return frame;
    },
    async train(epochs = o.epochsPerRound) {
      if (o.resetOptimizer) trainer.resetOptimizer();
      let samples = 0;
      let steps = 0;
      let lossSum = 0;
      let ms = 0;
      let computeMs = 0;
      for (let left = epochs; left > 1e-9; left -= 1) {
        let idx: Int32Array = all;
        if (left < 1) {
          idx = all.slice();
          rng.shuffle(idx);
          idx = idx.subarray(0, Math.max(o.batch, Math.round(left * all.length)));
        }
        const st = await trainer.trainEpoch(o.shard, idx, rng, o.onTrainProgress);
        samples += st.samples;
        steps += st.steps;
        lossSum += st.meanLoss * st.steps;
        ms += st.wallMs;
        computeMs += st.computeMs;
      }
      return { samples, steps, loss: steps ? lossSum / steps : NaN, ms, computeMs };
    },
    async merge(selfWeight, others, published) {
      const r = await mergeStep(
        { rt: o.runtime, model: o.model, data: o.alignData, own, seed: o.seed * 7919 + o.index * 31 + merges++, sharedSeed: o.seed, taskVerdicts, alignments: o.alignments, into: mergeOut },
        o.strategy,
        { agent: o.index, weight: selfWeight, values: trainer.state.weights, frame, version: published },
        others,
      );
      // The trainer owns its weights array (it is moved to the ORT worker while training): the
      // merge is copied into it rather than into a new array each round.
      const held = trainer.state.weights;
      if (r.weights !== held) {
        if (held.length === r.weights.length) held.set(r.weights);
        else trainer.state.weights = r.weights.slice();
      }
      frame = r.frame;
      // The agent's own array, not the scratch the merge may have been written to.
      return { ...r, weights: trainer.state.weights };
    },
    dispose: () => trainer.dispose(),
  };
}
