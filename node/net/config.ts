// The configuration file of `mergemesh node`: one JSON object, validated with every problem
// reported at once (unknown keys included, since a typo must not silently fall back to a
// default), with complete defaults. Relative paths resolve against the file's directory.
import { dirname, resolve } from 'node:path';
import { multiaddr } from '@multiformats/multiaddr';
import { z } from 'zod';
import { STRATEGY_KINDS, type StrategyKind } from '../agent/strategy.js';
import { CODEC_NAMES } from '../../protocol/codecs/codec.js';
import { DEFAULT_LIMITS, RUN_ID_PATTERN } from '../../protocol/constants.js';
import { DATASET_NAMES } from '../data/dataset.js';
import { MODEL_KINDS, parseModelDef, type ModelDef, type ModelKind } from '../model/def.js';
import { INIT_SCHEMES, type InitScheme } from '../model/init.js';
import { OPTIMIZER_KINDS } from '../train/optimizer.js';
import { readJsonFile } from '../util/json-file.js';

const multiaddrString = (what: string) =>
  z.string().superRefine((s, ctx) => {
    try {
      multiaddr(s);
    } catch (e) {
      ctx.addIssue({ code: 'custom', message: `not a ${what} multiaddr (${(e as Error).message})` });
    }
  });

const hostPort = z.string().regex(/^[^\s:]+:\d{1,5}$/, 'must be host:port, e.g. 127.0.0.1:9464');

const partitionSchema = z.union([
  z.strictObject({ kind: z.literal('iid') }),
  z.strictObject({ kind: z.literal('dirichlet'), alpha: z.number().positive() }),
  z.strictObject({ kind: z.literal('classes'), per_agent: z.number().int().min(1) }),
]);

const modelSchema = z.union([z.enum(MODEL_KINDS as [ModelKind, ...ModelKind[]]), z.record(z.string(), z.unknown())]).superRefine((m, ctx) => {
  if (typeof m === 'string') return;
  try {
    parseModelDef(m);
  } catch (e) {
    ctx.addIssue({ code: 'custom', message: (e as Error).message });
  }
});

export const nodeConfigSchema = z.strictObject({
  /** Run id: peers of one run share a topic and a model. */
  run: z.string().regex(RUN_ID_PATTERN, 'must be 1–64 characters of A–Z a–z 0–9 . _ -'),
  identity: z.string().min(1).default('mergemesh-key.json'),
  listen: z.array(multiaddrString('listen')).min(1).default(['/ip4/0.0.0.0/tcp/4001']),
  bootstrap: z.array(multiaddrString('bootstrap').refine((s) => s.includes('/p2p/'), 'a bootstrap address must end in /p2p/<peer id>')).default([]),
  members: z.array(z.string().min(1)).optional(),
  psk: z.string().min(1).optional(),
  mdns: z.boolean().default(false),
  store: z.string().min(1).default('mergemesh-store'),
  metrics: z.union([z.literal(false), z.strictObject({ listen: hostPort.default('127.0.0.1:9464') })]).default({ listen: '127.0.0.1:9464' }),
  codec: z.enum(CODEC_NAMES as [string, ...string[]]).default('int8'),
  model: modelSchema.default('mlp'),
  data: z
    .strictObject({
      dataset: z.enum(DATASET_NAMES as [string, ...string[]]).default('mnist'),
      /** A folder with this dataset's IDX files (e.g. your own data in MNIST's format). */
      dir: z.string().min(1).optional(),
      partition: partitionSchema.default({ kind: 'iid' }),
      shard: z.number().int().min(0).default(0),
      shards: z.number().int().min(1).default(1),
      /** Seed of the partition: every peer of a run must use the same one. */
      seed: z.number().int().min(0).default(0),
      /** Cap on this peer's training samples (default: its whole shard). */
      samples: z.number().int().min(1).optional(),
      test_samples: z.number().int().min(1).default(2000),
      /** Inputs (pixel/255 − mean)/std with the training split's statistics, instead of pixel/255. */
      standardize: z.boolean().default(false),
    })
    .prefault({})
    .refine((d) => d.shard < d.shards, { message: 'shard must be less than shards', path: ['shard'] }),
  train: z
    .strictObject({
      optimizer: z.enum(OPTIMIZER_KINDS as [string, ...string[]]).default('adam'),
      lr: z.number().positive().optional(),
      momentum: z.number().min(0).lt(1).optional(),
      weight_decay: z.number().min(0).optional(),
      batch: z.number().int().min(1).default(64),
      epochs_per_round: z.number().positive().default(1),
      /** Rounds to run; 0 runs until stopped. */
      rounds: z.number().int().min(0).default(0),
      /** Fresh optimiser state every round (DIMAT's choice) or kept. */
      reset_optimizer: z.boolean().default(false),
      seed: z.number().int().min(0).default(0),
      /** How layers start: PyTorch's default uniform, or He-normal with zero biases. */
      init_scheme: z.enum(INIT_SCHEMES as [InitScheme, ...InitScheme[]]).default('torch'),
      threads: z.number().int().min(1).max(64).default(1),
    })
    .prefault({}),
  limits: z
    .strictObject({
      max_gossip_bytes: z.number().int().min(1024).max(3 * 1024 * 1024).default(DEFAULT_LIMITS.maxGossipBytes),
      inline_delta_bytes: z.number().int().min(0).default(DEFAULT_LIMITS.inlineDeltaBytes),
    })
    .prefault({})
    .refine((l) => l.inline_delta_bytes < l.max_gossip_bytes, { message: 'inline_delta_bytes must be below max_gossip_bytes', path: ['inline_delta_bytes'] }),
  /**
   * After each round the peer merges with the latest versions it holds of the other peers
   * (asynchronously: no waiting), with the simulator's strategies (docs/agents.md).
   */
  merge: z
    .strictObject({
      strategy: z.enum(STRATEGY_KINDS as [StrategyKind, ...StrategyKind[]]).default('frame'),
      /** Gate margin; default 0.02 for frame, 0 otherwise. */
      margin: z.number().min(0).max(1).optional(),
      /** Own samples used (unlabelled) for alignment and norm repair. */
      align_samples: z.number().int().min(10).default(2000),
      /** Versions older than this are not merged. */
      max_age_s: z.number().positive().default(600),
    })
    .prefault({})
    .refine((m) => m.strategy !== 'zipit' && m.strategy !== 'pleas', { message: 'zipit and pleas merge pairs on a schedule; a node merges with every peer it holds', path: ['strategy'] }),
  /** Seconds to keep serving after the last round, so neighbours can pull it. */
  linger_s: z.number().min(0).default(5),
  /** JSONL event log (one line per round and per neighbour version). */
  log: z.string().min(1).optional(),
});

export type NodeConfigFile = z.input<typeof nodeConfigSchema>;
type Parsed = z.output<typeof nodeConfigSchema>;

export interface NodeConfig extends Omit<Parsed, 'model' | 'identity' | 'store' | 'psk' | 'log' | 'data'> {
  readonly data: Parsed['data'] & { readonly dir?: string };
  readonly model: ModelDef | ModelKind;
  /** Absolute paths. */
  readonly identity: string;
  readonly store: string;
  readonly psk?: string;
  readonly log?: string;
}

export class ConfigError extends Error {}

function formatIssues(file: string, issues: ReadonlyArray<z.core.$ZodIssue>): string {
  const lines = issues.map((i) => {
    const at = i.path.length ? i.path.map(String).join('.') : '(top level)';
    return `  ${at}: ${i.message}`;
  });
  return `${file} is not a valid node configuration:\n${lines.join('\n')}`;
}

/** Validates a parsed JSON configuration; paths resolve against `baseDir`. */
export function parseNodeConfig(raw: unknown, baseDir: string, file = 'configuration'): NodeConfig {
  const r = nodeConfigSchema.safeParse(raw);
  if (!r.success) throw new ConfigError(formatIssues(file, r.error.issues));
  const c = r.data;
  const model = typeof c.model === 'string' ? (c.model as ModelKind) : parseModelDef(c.model);
  return {
    ...c,
    model,
    identity: resolve(baseDir, c.identity),
    store: resolve(baseDir, c.store),
    ...(c.psk ? { psk: resolve(baseDir, c.psk) } : {}),
    ...(c.log ? { log: resolve(baseDir, c.log) } : {}),
    data: { ...c.data, ...(c.data.dir ? { dir: resolve(baseDir, c.data.dir) } : {}) },
  };
}

export function loadNodeConfig(path: string): NodeConfig {
  const raw = readJsonFile(path, 'configuration', (m) => new ConfigError(m));
  return parseNodeConfig(raw, dirname(resolve(path)), path);
}
