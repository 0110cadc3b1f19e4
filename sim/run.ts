// Runs a scenario: data partitioned among agents, one agent per index running the same loop
// (node/agent/loop.ts) over the virtual network on a virtual clock, or over real libp2p
// peers; every round each model is evaluated, and a summary (accuracy spread, consensus,
// bytes, time) is emitted once every agent has finished that round.
import { runAgentLoop, type RoundRecord } from '../node/agent/loop.js';
import { createAgent, type Agent } from '../node/agent/agent.js';
import { createAlignmentCache } from '../node/agent/alignment-cache.js';
import { frameOfSeed } from '../node/agent/frame.js';
import type { StrategyConfig } from '../node/agent/strategy.js';
import type { Transport } from '../node/agent/transport.js';
import { subset, type Dataset, type DatasetName } from '../node/data/dataset.js';
import { loadDataset } from '../node/data/load.js';
import { partition, partitionSpecOf } from '../node/data/partition.js';
import { scaledSplits } from '../node/data/standardize.js';
import { defaultModelDef, describeModel, parseModelDef, type ModelDef, type ModelKind } from '../node/model/def.js';
import { createModel, type Model } from '../node/model/model.js';
import { createRuntime, type Runtime } from '../node/tensor/runtime/pool.js';
import { optimizerConfig, type OptimizerKind } from '../node/train/optimizer.js';
import { createRng } from '../node/util/rng.js';
import type { CodecName } from '../protocol/codecs/codec.js';
import { createVirtualClock } from './clock.js';
import { alignedConsensusDistance, consensusDistance } from './consensus.js';
import { evaluateByClass, underDistribution } from './evaluate.js';
import type { WireCounts } from '../node/net/wire-meter.js';
import { LOG_VERSION, type AgentRoundEvent, type EndEvent, type RoundEvent, type SimEvent, type Libp2pBytes } from './events.js';
import { createLibp2pCluster, type Libp2pCluster } from './libp2p.js';
import { mixingWeights, spectralGap, type Mixing } from './mixing.js';
import { createVirtualNetwork } from './network.js';
import { marginOf, ScenarioError, type Scenario } from './scenario.js';
import { createSchedule } from './schedule.js';
import { degrees, edgeList, type Graph } from './topology.js';

export interface SimHooks {
  onEvent?(e: SimEvent): void;
  onStatus?(line: string): void;
  /** An agent finished `round` (0: pretraining); `done` of the run's `total` agent-rounds so far. */
  onProgress?(round: number, agent: number, done: number, total: number): void;
}

export interface SimResult {
  readonly final_mean_accuracy: number;
  readonly final_min_accuracy: number;
  readonly rounds: ReadonlyArray<RoundEvent>;
  readonly bytes_sent: number;
  readonly wall_s: number;
  readonly libp2p?: Libp2pBytes;
}

// libp2p's own protocols (peer identification, liveness) are not mergemesh's traffic.
const LIBP2P_OWN = /^\/ipfs\/(id|ping)\//;

function libp2pBytes(c: WireCounts): Libp2pBytes {
  const byId: Record<string, number> = {};
  let protocol = 0;
  for (const [id, n] of c.protocolSent) {
    if (LIBP2P_OWN.test(id) || n === 0) continue;
    byId[id] = n;
    protocol += n;
  }
  return { protocol, protocol_by_id: byId, transport: c.transportSent };
}

export function modelDefOf(s: Scenario, ds: Dataset): ModelDef {
  if (typeof s.model === 'string') return defaultModelDef(s.model as ModelKind, ds.shape, ds.classes);
  return parseModelDef(s.model);
}

/** Each agent's training shard: a seeded partition of `train`, capped at `samples_per_agent`. */
export function agentShards(s: Scenario, train: Dataset): Dataset[] {
  const parts = asScenarioError(() => partition(train.labels, train.classes, s.agents, partitionSpecOf(s.data.partition), createRng(s.seed).fork(11)));
  return parts.map((p) => subset(train, s.data.samples_per_agent ? p.subarray(0, s.data.samples_per_agent) : p));
}

/** down[r][i]: agent i is down in round r; an agent that goes down stays down `down_rounds`. */
function churnSchedule(s: Scenario): boolean[][] {
  const { rate, down_rounds } = s.network.churn;
  const rng = createRng(s.seed).fork(14);
  const until = new Array<number>(s.agents).fill(0);
  const down: boolean[][] = [[]];
  for (let r = 1; r <= s.rounds; r++) {
    const row: boolean[] = [];
    for (let i = 0; i < s.agents; i++) {
      if (until[i] < r && rate > 0 && rng.next() < rate) until[i] = r + down_rounds - 1;
      row.push(until[i] >= r);
    }
    down.push(row);
  }
  return down;
}

function asScenarioError<T>(f: () => T): T {
  try {
    return f();
  } catch (e) {
    throw new ScenarioError((e as Error).message);
  }
}

const mean = (xs: ReadonlyArray<number>) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);

export async function runScenario(s: Scenario, hooks: SimHooks = {}): Promise<SimResult> {
  const wall0 = performance.now();
  const status = (l: string) => hooks.onStatus?.(l);
  const emit = (e: SimEvent) => hooks.onEvent?.(e);
  const dataset = s.data.dataset as DatasetName;
  let train: Dataset, testAll: Dataset;
  try {
    ({ train, test: testAll } = scaledSplits(loadDataset(dataset, 'train'), loadDataset(dataset, 'test'), s.data.standardize));
  } catch (e) {
    throw new ScenarioError((e as Error).message);
  }
  const def = modelDefOf(s, train);
  const model: Model = createModel(def);
  if (train.shape.some((d, i) => d !== model.input[i])) throw new ScenarioError(`${dataset} samples are [${train.shape}] but the model expects [${model.input}]`);
  const n = s.agents;

  // Data: a seeded partition of the training set, a seeded test subset, an optional proxy set.
  const shards = agentShards(s, train);
  const empty = shards.findIndex((d) => d.count < s.train.batch);
  if (empty >= 0) throw new ScenarioError(`agent ${empty} has ${shards[empty].count} training samples, fewer than a batch of ${s.train.batch} (fewer agents, a smaller batch, or another partition)`);
  const testIdx = Int32Array.from({ length: testAll.count }, (_, i) => i);
  createRng(s.seed).fork(12).shuffle(testIdx);
  const testSet = testIdx.subarray(0, Math.min(s.data.test_samples, testAll.count));
  const classDist = shards.map((d) => {
    const p = new Float64Array(train.classes);
    for (const l of d.labels) p[l] += 1 / d.count;
    return p;
  });
  const proxyIdx = Int32Array.from({ length: train.count }, (_, i) => i);
  createRng(s.seed).fork(13).shuffle(proxyIdx);
  const proxy = { ds: train, indices: proxyIdx.subarray(0, s.strategy.align_samples) };

  // Graph generators and partitioners reject impossible parameters (a 3-regular graph on 5
  // agents): those are scenario mistakes, reported as such.
  const schedule = asScenarioError(() => {
    const sch = createSchedule(n, s.topology, s.schedule, s.seed);
    sch.graphAt(1);
    return sch;
  });
  const mixings = new WeakMap<Graph, Mixing>();
  const mixingAt = (r: number): Mixing => {
    const g = schedule.graphAt(r);
    let m = mixings.get(g);
    if (!m) mixings.set(g, (m = mixingWeights(g, s.mixing)));
    return m;
  };
  // An eigen-decomposition of an n×n matrix: once per graph, not once per round (30 ms at 64 agents).
  const gaps = new WeakMap<Graph, number>();
  const gapAt = (r: number): number => {
    const g = schedule.graphAt(r);
    let gap = gaps.get(g);
    if (gap === undefined) gaps.set(g, (gap = spectralGap(g, mixingAt(r))));
    return gap;
  };
  const g1 = schedule.graphAt(1);
  emit({
    event: 'start',
    log_version: LOG_VERSION,
    time: new Date().toISOString(),
    scenario: s,
    model: describeModel(def),
    params: model.layout.totalSize,
    shard_sizes: shards.map((d) => d.count),
    degrees: degrees(g1),
    edges: edgeList(g1),
    spectral_gap: gapAt(1),
  });
  status(`${n} agents, ${describeModel(def)} (${model.layout.totalSize.toLocaleString('en')} parameters), ${dataset} ${s.data.partition.kind}, ${s.topology.kind} topology, strategy ${s.strategy.kind}, ${s.network.transport} network`);

  const runtime: Runtime = createRuntime({ workers: s.compute.workers, intraOpThreads: 1 });
  const optimizer = optimizerConfig(s.train.optimizer as OptimizerKind, { lr: s.train.lr, momentum: s.train.momentum, weightDecay: s.train.weight_decay });
  const strategy: StrategyConfig = {
    kind: s.strategy.kind,
    margin: marginOf(s),
    score: s.strategy.score,
    alignTo: s.strategy.align_to,
    repair: s.strategy.repair,
    zipAlpha: s.strategy.zip_alpha,
    zipBeta: s.strategy.zip_beta,
    verifyFrames: s.strategy.verify_frames,
    frameAlign: s.strategy.frame_align,
    taskOverlap: s.strategy.task_overlap,
    taskSamples: s.strategy.task_samples,
    restoreNorms: s.strategy.restore_norms,
  };
  // One process, one cache: both sides of a frame border solve the same weight matching.
  const alignments = createAlignmentCache();
  // The seed an agent's initialisation descends from also names its frame.
  const initSeed = (i: number) => (s.init === 'shared' ? s.seed : s.seed + i);
  const agents: Agent[] = shards.map((shard, i) =>
    createAgent({
      index: i,
      runtime,
      model,
      shard,
      alignData: s.strategy.align_data === 'proxy' ? proxy : { ds: shard, indices: Int32Array.from({ length: Math.min(s.strategy.align_samples, shard.count) }, (_, k) => k) },
      optimizer,
      batch: s.train.batch,
      epochsPerRound: s.train.epochs_per_round,
      resetOptimizer: s.train.reset_optimizer,
      strategy,
      seed: s.seed,
      initial: model.init(initSeed(i), s.init_scheme),
      frame: frameOfSeed(initSeed(i)),
      alignments,
    }),
  );

  // Per-agent speed on the virtual clock (log-normal spread), for asynchronous drift.
  const speedRng = createRng(s.seed).fork(15);
  const slowness = agents.map(() => Math.exp(s.compute.heterogeneity * speedRng.normal()));
  const virtual = s.network.transport === 'virtual';
  let transports: ReadonlyArray<Transport>;
  let cluster: Libp2pCluster | undefined;
  let lost = () => 0;
  const clock = createVirtualClock();
  let wire: Libp2pBytes | undefined;
  if (virtual) {
    const net = createVirtualNetwork({
      clock,
      agents: n,
      run: s.name.replace(/[^A-Za-z0-9._-]/g, '-').slice(0, 64) || 'sim',
      model: def,
      codec: s.network.codec as CodecName,
      inlineDeltaBytes: s.network.inline_delta_bytes,
      latencyS: s.network.latency_ms / 1000,
      jitterS: s.network.jitter_ms / 1000,
      bandwidthBytesPerS: (s.network.bandwidth_mbps * 1e6) / 8,
      loss: s.network.loss,
      down: churnSchedule(s),
      graphAt: (r) => schedule.graphAt(r),
      mixingAt,
      seed: s.seed,
    });
    transports = agents.map((_, i) => net.transport(i));
    lost = () => net.lost();
  } else {
    cluster = await createLibp2pCluster({
      run: s.name.replace(/[^A-Za-z0-9._-]/g, '-').slice(0, 64) || 'sim',
      model: def,
      n: model.layout.totalSize,
      codec: s.network.codec as CodecName,
      inlineDeltaBytes: s.network.inline_delta_bytes,
      transport: s.network.libp2p_transport,
      graph: g1,
      mixing: mixingAt(1),
      onStatus: status,
    });
    transports = cluster.transports;
  }

  // Per round: every agent's record and a copy of its weights, until all n have reported.
  interface Slot {
    readonly events: Map<number, AgentRoundEvent>;
    readonly weights: Map<number, Float32Array>;
  }
  const slots = new Map<number, Slot>();
  // The copies are reused once their round is summarised (n half-megabyte arrays a round otherwise).
  const spareWeights: Float32Array[] = [];
  const trained = new Map<string, { accuracy: number; loss: number }>();
  const summaries: RoundEvent[] = [];
  let summarising: Promise<void> = Promise.resolve();
  let lostBefore = 0;
  let reported = 0;

  const summarise = async (round: number, slot: Slot) => {
    const evs = [...slot.events.values()].sort((a, b) => a.agent - b.agent);
    const ws = evs.map((e) => slot.weights.get(e.agent)!);
    const accs = evs.map((e) => e.accuracy);
    const m = mean(accs);
    const trainedAccs = evs.map((e) => e.trained_accuracy).filter((x): x is number => x !== null);
    const aligned = s.metrics.aligned_consensus && n > 1 ? await alignedConsensusDistance(runtime, model, ws, s.seed + round) : null;
    const sum = (k: keyof AgentRoundEvent) => evs.reduce((a, e) => a + (e[k] as number), 0);
    const lostNow = lost();
    const ev: RoundEvent = {
      event: 'round',
      round,
      t: Math.max(...evs.map((e) => e.t)),
      online: evs.filter((e) => e.online).length,
      mean_accuracy: m,
      min_accuracy: Math.min(...accs),
      max_accuracy: Math.max(...accs),
      std_accuracy: Math.sqrt(mean(accs.map((a) => (a - m) ** 2))),
      mean_loss: mean(evs.map((e) => e.loss)),
      mean_local_accuracy: mean(evs.map((e) => e.local_accuracy)),
      mean_trained_accuracy: trainedAccs.length ? mean(trainedAccs) : null,
      consensus_distance: consensusDistance(ws, model.layout.paramSize),
      consensus_distance_aligned: aligned,
      frames: new Set(evs.map((e) => e.frame)).size,
      spectral_gap: gapAt(Math.max(1, round)),
      bytes_sent: sum('bytes_sent'),
      bytes_received: sum('bytes_received'),
      control_bytes: sum('control_bytes'),
      lost: lostNow - lostBefore,
      train_ms: sum('train_ms'),
      compute_ms: sum('compute_ms'),
      align_ms: sum('align_ms'),
      merge_ms: sum('merge_ms'),
      eval_ms: sum('eval_ms'),
      wall_s: (performance.now() - wall0) / 1000,
    };
    lostBefore = lostNow;
    for (const e of evs) emit(e);
    emit(ev);
    summaries.push(ev);
  };

  const report = async (agent: Agent, rec: RoundRecord | undefined) => {
    const round = rec?.round ?? 0;
    const t0 = performance.now();
    const e = await evaluateByClass(runtime, model, agent.weights, testAll, testSet);
    const local = underDistribution(e, classDist[agent.index]);
    const tr = trained.get(`${agent.index}:${round}`);
    const ev: AgentRoundEvent = {
      event: 'agent_round',
      round,
      agent: agent.index,
      online: rec?.online ?? true,
      t: rec?.t ?? transports[agent.index].now(),
      accuracy: e.accuracy,
      loss: e.loss,
      local_accuracy: local.accuracy,
      local_loss: local.loss,
      trained_accuracy: tr?.accuracy ?? null,
      train_loss: rec?.train?.loss ?? null,
      samples: rec?.train?.samples ?? 0,
      frame: agent.frame,
      neighbours: rec?.neighbours ?? [],
      missing: rec?.missing ?? [],
      aligned: rec?.merge?.aligned ?? 0,
      gated: rec?.merge?.gated ?? 0,
      groups: rec?.merge?.groups ?? 0,
      gain: rec?.merge?.gain ?? 0,
      bytes_sent: rec?.bytesSent ?? 0,
      bytes_received: rec?.bytesReceived ?? 0,
      control_bytes: rec?.controlBytes ?? 0,
      train_ms: rec?.train?.ms ?? 0,
      compute_ms: rec?.train?.computeMs ?? 0,
      align_ms: rec?.merge?.alignMs ?? 0,
      merge_ms: rec?.merge?.mergeMs ?? 0,
      eval_ms: performance.now() - t0,
    };
    trained.delete(`${agent.index}:${round}`);
    hooks.onProgress?.(round, agent.index, ++reported, n * (s.rounds + 1));
    let slot = slots.get(round);
    if (!slot) slots.set(round, (slot = { events: new Map(), weights: new Map() }));
    slot.events.set(agent.index, ev);
    const copy = spareWeights.pop() ?? new Float32Array(model.layout.paramSize);
    copy.set(agent.weights.subarray(0, model.layout.paramSize));
    slot.weights.set(agent.index, copy);
    if (slot.events.size === n) {
      slots.delete(round);
      const done = slot;
      summarising = summarising.then(async () => {
        await summarise(round, done);
        spareWeights.push(...done.weights.values());
      });
      await summarising;
    }
  };

  const loops = agents.map((agent, i) => () =>
    runAgentLoop(
      agent,
      transports[i],
      {
        rounds: s.rounds,
        mode: s.mode,
        roundTimeoutS: s.network.round_timeout_s,
        trainSeconds: virtual ? (samples) => (samples / s.compute.samples_per_s) * slowness[i] : () => 0,
        pretrainEpochs: s.pretrain_epochs,
        communicate: s.strategy.kind !== 'none',
      },
      {
        afterStart: (a) => report(a, undefined),
        afterTrain: async (a, round) => {
          if (!s.metrics.eval_trained) return;
          const e = await evaluateByClass(runtime, model, a.weights, testAll, testSet);
          trained.set(`${a.index}:${round}`, { accuracy: e.accuracy, loss: e.loss });
        },
        afterMerge: (a, rec) => report(a, rec),
      },
    ),
  );
  try {
    if (virtual) await clock.run(loops);
    else await Promise.all(loops.map((f) => f()));
    await summarising;
    if (cluster) wire = libp2pBytes(cluster.wire());
  } finally {
    await Promise.allSettled(agents.map((a) => a.dispose()));
    await cluster?.stop();
    await runtime.close();
  }
  const last = summaries[summaries.length - 1];
  const result: SimResult = {
    final_mean_accuracy: last.mean_accuracy,
    final_min_accuracy: last.min_accuracy,
    rounds: summaries,
    bytes_sent: summaries.reduce((a, r) => a + r.bytes_sent, 0),
    wall_s: (performance.now() - wall0) / 1000,
    ...(wire ? { libp2p: wire } : {}),
  };
  const end: EndEvent = { event: 'end', time: new Date().toISOString(), rounds: s.rounds, final_mean_accuracy: result.final_mean_accuracy, final_min_accuracy: result.final_min_accuracy, bytes_sent: result.bytes_sent, wall_s: result.wall_s, ...(wire ? { libp2p: wire } : {}) };
  emit(end);
  return result;
}
