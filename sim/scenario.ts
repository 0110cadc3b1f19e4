// A scenario: everything a simulated run depends on, as one JSON object with complete
// defaults (the embedded default is what `mergemesh sim` runs without arguments). Validation
// reports every problem at once, unknown keys included; `--set path=value` edits any field.
import { z } from 'zod';
import { CODEC_NAMES } from '../protocol/codecs/codec.js';
import { DEFAULT_LIMITS } from '../protocol/constants.js';
import { ALIGN_TO, DEFAULT_STRATEGY, defaultMargin, STRATEGY_KINDS, type StrategyKind } from '../node/agent/strategy.js';
import { DATASET_NAMES } from '../node/data/dataset.js';
import { MATCH_SCORES } from '../node/merge/align.js';
import { REPAIR_MODES } from '../node/merge/merge.js';
import { MODEL_KINDS, parseModelDef, type ModelKind } from '../node/model/def.js';
import { INIT_SCHEMES } from '../node/model/init.js';
import { OPTIMIZER_KINDS } from '../node/train/optimizer.js';
import { readJsonFile } from '../node/util/json-file.js';
import { MIXING_KINDS } from './mixing.js';
import { SCHEDULE_KINDS } from './schedule.js';

const enumOf = <T extends string>(values: ReadonlyArray<T>) => z.enum(values as [T, ...T[]]);

const topology = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('ring') }),
  z.strictObject({ kind: z.literal('torus'), rows: z.number().int().min(1).optional() }),
  z.strictObject({ kind: z.literal('complete') }),
  z.strictObject({ kind: z.literal('star') }),
  z.strictObject({ kind: z.literal('random-regular'), degree: z.number().int().min(1) }),
  z.strictObject({ kind: z.literal('erdos-renyi'), p: z.number().gt(0).max(1) }),
  z.strictObject({ kind: z.literal('small-world'), k: z.number().int().min(2), beta: z.number().min(0).max(1) }),
  z.strictObject({ kind: z.literal('exponential') }),
  z.strictObject({ kind: z.literal('bipartite') }),
]);

const schedule = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('static') }),
  z.strictObject({ kind: z.literal('one-peer-exponential') }),
  z.strictObject({ kind: z.literal('random-matching') }),
  z.strictObject({ kind: z.literal('resample'), every: z.number().int().min(1) }),
]);

const partition = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('iid') }),
  z.strictObject({ kind: z.literal('dirichlet'), alpha: z.number().positive() }),
  z.strictObject({ kind: z.literal('classes'), per_agent: z.number().int().min(1).max(10) }),
]);

const model = z.union([enumOf(MODEL_KINDS as ReadonlyArray<ModelKind>), z.record(z.string(), z.unknown())]).superRefine((m, ctx) => {
  if (typeof m === 'string') return;
  try {
    parseModelDef(m);
  } catch (e) {
    ctx.addIssue({ code: 'custom', message: (e as Error).message });
  }
});

export const scenarioSchema = z
  .strictObject({
    name: z.string().min(1).max(80).default('default'),
    seed: z.number().int().min(0).default(0),
    agents: z.number().int().min(1).max(256).default(8),
    rounds: z.number().int().min(1).max(10_000).default(4),
    mode: z.enum(['sync', 'async']).default('sync'),
    topology: topology.default({ kind: 'ring' }),
    schedule: schedule.default({ kind: 'static' }),
    mixing: enumOf(MIXING_KINDS).default('metropolis'),
    data: z
      .strictObject({
        dataset: enumOf(DATASET_NAMES).default('mnist'),
        partition: partition.default({ kind: 'iid' }),
        /** Cap on each agent's training samples (default: its whole partition). */
        samples_per_agent: z.number().int().min(1).optional(),
        test_samples: z.number().int().min(100).default(2000),
        /** Inputs (pixel/255 − mean)/std with the training split's statistics, instead of pixel/255. */
        standardize: z.boolean().default(false),
      })
      .prefault({}),
    model: model.default({ kind: 'mlp', input: [1, 28, 28], hidden: [128, 128], classes: 10 }),
    /** 'different': agent i starts from seed + i (DIMAT); 'shared': one init for all. */
    init: z.enum(['different', 'shared']).default('different'),
    /** How layers start: PyTorch's default uniform, or He-normal with zero biases. */
    init_scheme: enumOf(INIT_SCHEMES).default('torch'),
    pretrain_epochs: z.number().min(0).default(1),
    train: z
      .strictObject({
        optimizer: enumOf(OPTIMIZER_KINDS).default('adam'),
        lr: z.number().positive().optional(),
        momentum: z.number().min(0).lt(1).optional(),
        weight_decay: z.number().min(0).optional(),
        batch: z.number().int().min(1).default(64),
        epochs_per_round: z.number().positive().default(1),
        reset_optimizer: z.boolean().default(true),
      })
      .prefault({}),
    strategy: z
      .strictObject({
        kind: enumOf<StrategyKind>(STRATEGY_KINDS).default('frame'),
        /** Gate margin (relative alignment gain); default: 0 for weight/activation, 0.02 for frame. */
        margin: z.number().min(0).max(1).optional(),
        score: enumOf(MATCH_SCORES).default(DEFAULT_STRATEGY.score),
        /** weight/activation: neighbours aligned to the agent's own model (DIMAT) or MergeMany ('mean'). */
        align_to: enumOf(ALIGN_TO).default(DEFAULT_STRATEGY.alignTo),
        repair: enumOf(REPAIR_MODES).default(DEFAULT_STRATEGY.repair),
        /** Unlabelled samples for alignment: the agent's own ('local') or a shared proxy set. */
        align_data: z.enum(['local', 'proxy']).default('local'),
        align_samples: z.number().int().min(10).default(2000),
        zip_alpha: z.number().min(0).default(DEFAULT_STRATEGY.zipAlpha),
        zip_beta: z.number().min(0).max(1).default(DEFAULT_STRATEGY.zipBeta),
        verify_frames: z.boolean().default(DEFAULT_STRATEGY.verifyFrames),
        /** frame: align across frames by weight matching (data-free, the same on every agent) or activations. */
        frame_align: z.enum(['weight', 'activation']).default(DEFAULT_STRATEGY.frameAlign),
        /** frame: align a neighbour from another frame only if it is this good on the agent's own data (relative). */
        task_overlap: z.number().min(0).default(DEFAULT_STRATEGY.taskOverlap),
        /** frame: own labelled samples the task check predicts. */
        task_samples: z.number().int().min(10).default(DEFAULT_STRATEGY.taskSamples),
        /** frame: restore units' weight norms after averaging (data-free). */
        restore_norms: z.boolean().default(DEFAULT_STRATEGY.restoreNorms),
      })
      .prefault({}),
    network: z
      .strictObject({
        transport: z.enum(['virtual', 'libp2p']).default('virtual'),
        /** libp2p mode: in-memory transport or TCP on 127.0.0.1, all in this process. */
        libp2p_transport: z.enum(['memory', 'tcp']).default('memory'),
        codec: enumOf(CODEC_NAMES).default('int8'),
        /**
         * Deltas up to this size ride inside the announcement. Gossip floods the run's topic to
         * every agent, while only neighbours merge a version, so the default (0) announces
         * small and lets neighbours pull deltas by hash.
         */
        inline_delta_bytes: z.number().int().min(0).max(DEFAULT_LIMITS.maxGossipBytes - 64 * 1024).default(0),
        latency_ms: z.number().min(0).default(20),
        jitter_ms: z.number().min(0).default(0),
        bandwidth_mbps: z.number().positive().default(100),
        /** Probability that one delivery of a gossip message is lost. */
        loss: z.number().min(0).max(1).default(0),
        churn: z
          .strictObject({
            /** Probability that an online agent goes down at the start of a round. */
            rate: z.number().min(0).max(1).default(0),
            down_rounds: z.number().int().min(1).default(1),
          })
          .prefault({}),
        /** Synchronous rounds: how long an agent waits for its neighbours (virtual s; wall s on libp2p). */
        round_timeout_s: z.number().positive().default(60),
      })
      .prefault({}),
    /** The virtual clock's cost model: training throughput and per-agent speed spread. */
    compute: z
      .strictObject({
        samples_per_s: z.number().positive().default(20_000),
        /** σ of the log-normal speed factor of each agent (async mode drifts with it). */
        heterogeneity: z.number().min(0).default(0),
        /** ORT workers running agents in parallel (default: 2, one per core here). */
        workers: z.number().int().min(1).max(64).default(2),
      })
      .prefault({}),
    metrics: z
      .strictObject({
        /** Consensus distance after aligning every model to agent 0 (weight matching). */
        aligned_consensus: z.boolean().default(true),
        /** Also evaluate each model after local training (before its merge). */
        eval_trained: z.boolean().default(true),
      })
      .prefault({}),
  })
  .superRefine((s, ctx) => {
    if ((s.strategy.kind === 'zipit' || s.strategy.kind === 'pleas') && s.schedule.kind !== 'one-peer-exponential' && s.schedule.kind !== 'random-matching' && s.agents > 2) {
      ctx.addIssue({ code: 'custom', path: ['strategy', 'kind'], message: `${s.strategy.kind} merges two models at a time: use schedule one-peer-exponential or random-matching (or 2 agents)` });
    }
    if (s.strategy.align_to !== DEFAULT_STRATEGY.alignTo && s.strategy.kind !== 'weight' && s.strategy.kind !== 'activation') {
      ctx.addIssue({ code: 'custom', path: ['strategy', 'align_to'], message: `align_to chooses how weight and activation matching align a neighbourhood; strategy ${s.strategy.kind} does not use it` });
    }
    if (s.network.transport === 'libp2p' && s.schedule.kind !== 'static') {
      ctx.addIssue({ code: 'custom', path: ['schedule', 'kind'], message: 'the libp2p transport runs static topologies only (connections follow the graph)' });
    }
    if (s.network.transport === 'libp2p' && (s.network.loss > 0 || s.network.churn.rate > 0 || s.network.jitter_ms > 0)) {
      ctx.addIssue({ code: 'custom', path: ['network', 'transport'], message: 'loss, churn and jitter are virtual-network faults; the libp2p transport runs on real loopback' });
    }
  });

export type ScenarioInput = z.input<typeof scenarioSchema>;
export type Scenario = z.output<typeof scenarioSchema>;

export class ScenarioError extends Error {}

export function formatIssues(source: string, issues: ReadonlyArray<z.core.$ZodIssue>): string {
  return `${source} is not a valid scenario:\n${issues.map((i) => `  ${i.path.length ? i.path.map(String).join('.') : '(top level)'}: ${i.message}`).join('\n')}`;
}

export function parseScenario(raw: unknown, source = 'scenario'): Scenario {
  const r = scenarioSchema.safeParse(raw);
  if (!r.success) throw new ScenarioError(formatIssues(source, r.error.issues));
  return r.data;
}

/** `path=value` edits: the value is JSON when it parses as JSON, a string otherwise. */
export function applySets(raw: Record<string, unknown>, sets: ReadonlyArray<string>): Record<string, unknown> {
  const out = structuredClone(raw);
  for (const s of sets) {
    const eq = s.indexOf('=');
    if (eq <= 0) throw new ScenarioError(`--set ${s}: expected path=value, e.g. --set topology.kind=complete`);
    const path = s.slice(0, eq).split('.');
    if (path.some((k) => !/^[A-Za-z_][A-Za-z0-9_]*$/.test(k))) throw new ScenarioError(`--set ${s}: '${s.slice(0, eq)}' is not a field path`);
    const text = s.slice(eq + 1);
    let value: unknown = text;
    try {
      value = JSON.parse(text);
    } catch {
      // A bare word stays a string (e.g. ring, activation).
    }
    let cur = out;
    for (const k of path.slice(0, -1)) {
      const next = cur[k];
      if (next === undefined) cur[k] = {};
      else if (typeof next !== 'object' || next === null || Array.isArray(next)) throw new ScenarioError(`--set ${s}: ${k} is not an object`);
      cur = cur[k] as Record<string, unknown>;
    }
    const last = path[path.length - 1];
    // Changing a union's kind drops the other kind's fields (e.g. topology.kind=ring after torus).
    if (last === 'kind' && cur.kind !== value) for (const k of Object.keys(cur)) delete cur[k];
    cur[last] = value;
  }
  return out;
}

export function loadScenarioFile(path: string): Record<string, unknown> {
  const raw = readJsonFile(path, 'scenario', (m) => new ScenarioError(m));
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ScenarioError(`${path}: a scenario is a JSON object`);
  return raw as Record<string, unknown>;
}

/** The gate margin a strategy uses when the scenario leaves it unset. */
export function marginOf(s: Scenario): number {
  return s.strategy.margin ?? defaultMargin(s.strategy.kind);
}
