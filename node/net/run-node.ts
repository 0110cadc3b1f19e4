// A real peer from its configuration: identity, libp2p host and gossip, replica store,
// Prometheus endpoint, and the merge-and-train loop of node/agent in its asynchronous form:
// train on this peer's shard, evaluate, publish the new version, then merge with the latest
// versions held of the other peers (which arrive in the background) using the configured
// strategy, and train on from the merged model.
import { readFile } from 'node:fs/promises';
import { Gauge } from 'prom-client';
import { subset, type Dataset, type DatasetName } from '../data/dataset.js';
import { loadDataset } from '../data/load.js';
import { partition, partitionSpecOf } from '../data/partition.js';
import { scaledSplits } from '../data/standardize.js';
import { defaultModelDef, describeModel, type ModelDef } from '../model/def.js';
import { createModel } from '../model/model.js';
import { createRuntime } from '../tensor/runtime/pool.js';
import { evaluate } from '../train/evaluate.js';
import { optimizerConfig, type OptimizerKind } from '../train/optimizer.js';
import { createAgent } from '../agent/agent.js';
import { frameOfSeed } from '../agent/frame.js';
import { DEFAULT_STRATEGY, defaultMargin, type MergeInput, type StrategyConfig } from '../agent/strategy.js';
import { createRng } from '../util/rng.js';
import type { CodecName } from '../../protocol/codecs/codec.js';
import { DEFAULT_LIMITS, type Limits } from '../../protocol/constants.js';
import { ConfigError, type NodeConfig } from './config.js';
import { loadOrCreateIdentity } from './identity.js';
import { startMetricsServer, type MetricsServer } from './metrics-server.js';
import { createPeerMetrics } from './metrics.js';
import { createPeer, type MeshPeer } from './peer.js';

export type NodeEvent =
  | {
      readonly event: 'listening';
      readonly peer_id: string;
      readonly addresses: ReadonlyArray<string>;
      readonly metrics: string | null;
      readonly model: string;
      readonly params: number;
      readonly shard_samples: number;
      readonly identity_created: boolean;
      readonly restored: ReadonlyArray<string>;
    }
  | {
      readonly event: 'round';
      readonly round: number;
      readonly seq: number;
      readonly hash: string;
      readonly test_accuracy: number;
      readonly test_loss: number;
      readonly train_loss: number;
      readonly train_s: number;
      readonly neighbours: number;
      /** Peers whose versions were merged after this round, and the merged model's test figures (null: no merge). */
      readonly merged_with: ReadonlyArray<string>;
      readonly merged_accuracy: number | null;
      readonly merged_loss: number | null;
      readonly frame: number;
      readonly merge_s: number;
    }
  | { readonly event: 'version'; readonly peer: string; readonly seq: number; readonly hash: string; readonly via: string }
  | { readonly event: 'stopped'; readonly reason: string; readonly rounds: number };

export interface RunningNode {
  readonly peer: MeshPeer;
  /** Resolves when the node has stopped (after its last round and linger, or on stop()). */
  readonly done: Promise<void>;
  stop(reason?: string): Promise<void>;
}

const PSK_PATTERN = /^\/key\/swarm\/psk\/1\.0\.0\/\n\/base16\/\n[0-9a-fA-F]{64}\n?$/;

async function readPsk(path: string): Promise<Uint8Array> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (e) {
    throw new ConfigError(`cannot read the private-network key ${path}: ${(e as Error).message}`);
  }
  if (!PSK_PATTERN.test(bytes.toString('utf8'))) throw new ConfigError(`${path} is not a libp2p swarm key (expected "/key/swarm/psk/1.0.0/", "/base16/" and 64 hex digits)`);
  return new Uint8Array(bytes);
}

class Stopping extends Error {}

function shardOf(cfg: NodeConfig, train: Dataset): Dataset {
  // Every peer computes the same partition from the shared seed and keeps its own part.
  const parts = partition(train.labels, train.classes, cfg.data.shards, partitionSpecOf(cfg.data.partition), createRng(cfg.data.seed));
  let idx = parts[cfg.data.shard];
  if (cfg.data.samples !== undefined) idx = idx.subarray(0, cfg.data.samples);
  if (idx.length === 0) throw new ConfigError(`shard ${cfg.data.shard} of ${cfg.data.shards} is empty`);
  return subset(train, idx);
}

export async function startNode(cfg: NodeConfig, onEvent: (e: NodeEvent) => void = () => undefined): Promise<RunningNode> {
  const dataset = cfg.data.dataset as DatasetName;
  // Every peer reads the same training split, so standardised peers all scale inputs alike.
  const { train, test: testAll } = scaledSplits(loadDataset(dataset, 'train', { dir: cfg.data.dir }), loadDataset(dataset, 'test', { dir: cfg.data.dir }), cfg.data.standardize);
  const def: ModelDef = typeof cfg.model === 'string' ? defaultModelDef(cfg.model, [1, train.shape[1], train.shape[2]], train.classes) : cfg.model;
  const model = createModel(def);
  if (train.shape.some((d, i) => d !== model.input[i])) throw new ConfigError(`${dataset} samples are [${train.shape}] but the model expects [${model.input}]`);
  const shard = shardOf(cfg, train);
  const testIdx = Int32Array.from({ length: testAll.count }, (_, i) => i);
  createRng(cfg.data.seed + 202).shuffle(testIdx);
  const test = subset(testAll, testIdx.subarray(0, Math.min(cfg.data.test_samples, testAll.count)));
  if (shard.count < cfg.train.batch) throw new ConfigError(`train.batch ${cfg.train.batch} exceeds this peer's ${shard.count} training samples`);
  const optimizer = (() => {
    try {
      return optimizerConfig(cfg.train.optimizer as OptimizerKind, { lr: cfg.train.lr, momentum: cfg.train.momentum, weightDecay: cfg.train.weight_decay });
    } catch (e) {
      throw new ConfigError(`train: ${(e as Error).message}`);
    }
  })();

  let identity;
  try {
    identity = await loadOrCreateIdentity(cfg.identity);
  } catch (e) {
    throw new ConfigError((e as Error).message);
  }
  const psk = cfg.psk ? await readPsk(cfg.psk) : undefined;
  const limits: Limits = { ...DEFAULT_LIMITS, maxGossipBytes: cfg.limits.max_gossip_bytes, inlineDeltaBytes: cfg.limits.inline_delta_bytes };
  const metrics = createPeerMetrics();
  const gauges = {
    round: new Gauge({ name: 'mergemesh_round', help: 'Rounds completed by this peer', registers: [metrics.registry] }),
    accuracy: new Gauge({ name: 'mergemesh_test_accuracy', help: 'Test accuracy after the last round', registers: [metrics.registry] }),
    loss: new Gauge({ name: 'mergemesh_test_loss', help: 'Test loss after the last round', registers: [metrics.registry] }),
    trainLoss: new Gauge({ name: 'mergemesh_train_loss', help: 'Mean training loss of the last round', registers: [metrics.registry] }),
    neighbours: new Gauge({ name: 'mergemesh_neighbours', help: 'Neighbours whose latest version this peer holds', registers: [metrics.registry] }),
  };
  let peer: MeshPeer;
  try {
    peer = await createPeer({
      run: cfg.run,
      model: def,
      n: model.layout.totalSize,
      codec: cfg.codec as CodecName,
      limits,
      listen: cfg.listen,
      privateKey: identity.key,
      bootstrap: cfg.bootstrap,
      mdns: cfg.mdns,
      members: cfg.members,
      psk,
      storeDir: cfg.store,
      metrics,
    });
  } catch (e) {
    const msg = (e as Error).message;
    // Address problems are the user's to fix; report them without a stack.
    if (/EADDRINUSE|EADDRNOTAVAIL|EACCES|replica store|replica index/.test(msg)) throw new ConfigError(`cannot start the peer: ${msg}`);
    throw e;
  }
  let server: MetricsServer | undefined;
  try {
    if (cfg.metrics) server = await startMetricsServer({ listen: cfg.metrics.listen, registry: metrics.registry, beforeScrape: () => peer.refreshMetrics() });
  } catch (e) {
    await peer.stop();
    throw new ConfigError((e as Error).message);
  }
  peer.onVersion((e) => {
    gauges.neighbours.set(peer.replicas.peers().length);
    onEvent({ event: 'version', peer: e.peer, seq: e.replica.seq, hash: e.replica.hash, via: e.via });
  });
  onEvent({
    event: 'listening',
    peer_id: peer.id,
    addresses: peer.addresses(),
    metrics: server ? `http://${server.address}/metrics` : null,
    model: describeModel(def),
    params: model.layout.totalSize,
    shard_samples: shard.count,
    identity_created: identity.created,
    restored: peer.replicas.peers(),
  });

  const runtime = createRuntime({ intraOpThreads: cfg.train.threads });
  let stopping: string | undefined;
  let rounds = 0;
  let wake: (() => void) | undefined;
  const abortable = () => {
    if (stopping) throw new Stopping(stopping);
  };
  const m = cfg.merge;
  const strategy: StrategyConfig = { ...DEFAULT_STRATEGY, kind: m.strategy, margin: m.margin ?? defaultMargin(m.strategy) };
  // A frame is named by the initialisation seed (hashed, node/agent/frame.ts): peers started
  // from the same seed share it.
  const agent = createAgent({
    index: cfg.data.shard,
    runtime,
    model,
    shard,
    alignData: { ds: shard, indices: Int32Array.from({ length: Math.min(m.align_samples, shard.count) }, (_, k) => k) },
    optimizer,
    batch: cfg.train.batch,
    epochsPerRound: cfg.train.epochs_per_round,
    resetOptimizer: cfg.train.reset_optimizer,
    strategy,
    seed: cfg.train.seed,
    initial: model.init(cfg.train.seed, cfg.train.init_scheme),
    frame: frameOfSeed(cfg.train.seed),
    onTrainProgress: abortable,
  });

  /** The latest version held of every other peer, fresh enough to merge. */
  const neighbourVersions = (): Array<MergeInput & { peer: string }> => {
    const now = Date.now();
    return peer.replicas
      .peers()
      .filter((p) => p !== peer.id)
      .map((p) => peer.replicas.latest(p)!)
      .filter((r) => r && now - r.updated <= m.max_age_s * 1000)
      .sort((a, b) => (a.peer < b.peer ? -1 : 1))
      .map((r, k) => ({ peer: r.peer, agent: k, weight: 0, values: r.values, frame: typeof r.metrics?.frame === 'number' ? r.metrics.frame : Number.MAX_SAFE_INTEGER, version: { hash: r.hash, values: r.values } }));
  };

  const loop = async () => {
    while (!stopping && (cfg.train.rounds === 0 || rounds < cfg.train.rounds)) {
      const t0 = performance.now();
      const tr = await agent.train();
      const trainS = (performance.now() - t0) / 1000;
      const ev = await evaluate(runtime, model, agent.weights, test);
      abortable();
      rounds++;
      const pub = await peer.publish(agent.weights, { round: rounds, frame: agent.frame, test_accuracy: ev.accuracy, test_loss: ev.loss, train_loss: tr.loss });
      gauges.round.set(rounds);
      gauges.accuracy.set(ev.accuracy);
      gauges.loss.set(ev.loss);
      gauges.trainLoss.set(tr.loss);
      // Uniform mixing over what is held: this peer and each neighbour 1/(k+1).
      const others = m.strategy === 'none' ? [] : neighbourVersions();
      let merged: { accuracy: number; loss: number } | null = null;
      const t1 = performance.now();
      if (others.length) {
        const w = 1 / (others.length + 1);
        await agent.merge(
          w,
          others.map((o) => ({ ...o, weight: w })),
          pub.version,
        );
        abortable();
        merged = await evaluate(runtime, model, agent.weights, test);
      }
      onEvent({
        event: 'round',
        round: rounds,
        seq: pub.version.seq,
        hash: pub.version.hash,
        test_accuracy: ev.accuracy,
        test_loss: ev.loss,
        train_loss: tr.loss,
        train_s: trainS,
        neighbours: peer.replicas.peers().length,
        merged_with: others.map((o) => o.peer),
        merged_accuracy: merged?.accuracy ?? null,
        merged_loss: merged?.loss ?? null,
        frame: agent.frame,
        merge_s: (performance.now() - t1) / 1000,
      });
    }
    // Keep serving a while so neighbours can pull the last version.
    if (!stopping && cfg.linger_s > 0) await new Promise<void>((r) => ((wake = r), setTimeout(r, cfg.linger_s * 1000)));
  };

  let finished = false;
  const shutdown = async (reason: string) => {
    if (finished) return;
    finished = true;
    await Promise.allSettled([peer.stop(), server?.close(), agent.dispose().then(() => runtime.close())]);
    onEvent({ event: 'stopped', reason, rounds });
  };
  const done = loop().then(
    () => shutdown(stopping ?? (cfg.train.rounds ? `finished ${rounds} rounds` : 'stopped')),
    async (e: unknown) => {
      if (e instanceof Stopping) return shutdown(e.message);
      await shutdown(`failed: ${(e as Error).message}`);
      throw e;
    },
  );
  return {
    peer,
    done,
    async stop(reason = 'stopped') {
      stopping ??= reason;
      wake?.();
      await done.catch(() => undefined);
    },
  };
}
