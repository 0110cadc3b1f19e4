// A cluster of real libp2p peers in this process (the in-memory transport, or TCP on
// 127.0.0.1), connected along the scenario's graph, each wrapped as an agent's Transport.
import { randomBytes } from 'node:crypto';
import { libp2pTransport } from '../node/agent/libp2p-transport.js';
import type { Transport } from '../node/agent/transport.js';
import { createPeer, type MeshPeer } from '../node/net/peer.js';
import type { CodecName } from '../protocol/codecs/codec.js';
import { DEFAULT_LIMITS } from '../protocol/constants.js';
import { createWireMeter, type WireCounts } from '../node/net/wire-meter.js';
import type { Mixing } from './mixing.js';
import type { Graph } from './topology.js';

export interface Libp2pClusterOptions {
  readonly run: string;
  readonly model: unknown;
  readonly n: number;
  readonly codec: CodecName;
  readonly inlineDeltaBytes: number;
  readonly transport: 'memory' | 'tcp';
  readonly graph: Graph;
  readonly mixing: Mixing;
  readonly onStatus?: (line: string) => void;
}

export interface Libp2pCluster {
  readonly peers: ReadonlyArray<MeshPeer>;
  readonly transports: ReadonlyArray<Transport>;
  /** What libp2p itself moved since the cluster was connected (summed over peers). */
  wire(): WireCounts;
  stop(): Promise<void>;
}

async function until(what: string, cond: () => boolean, timeoutMs: number): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`libp2p cluster: timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export async function createLibp2pCluster(o: Libp2pClusterOptions): Promise<Libp2pCluster> {
  const { graph } = o;
  const limits = { ...DEFAULT_LIMITS, inlineDeltaBytes: o.inlineDeltaBytes, maxGossipBytes: Math.max(DEFAULT_LIMITS.maxGossipBytes, o.inlineDeltaBytes + 64 * 1024) };
  const tag = randomBytes(4).toString('hex');
  const peers: MeshPeer[] = [];
  const ids: string[] = [];
  // Each peer keeps only its neighbours' versions; the sets are filled once every id is known.
  // One meter per peer: each agent's traffic is what libp2p moved for it.
  const meters = Array.from({ length: graph.n }, () => createWireMeter());
  const follows = Array.from({ length: graph.n }, () => new Set<string>());
  try {
    for (let i = 0; i < graph.n; i++) {
      const peer = await createPeer({
        run: o.run,
        model: o.model,
        n: o.n,
        codec: o.codec,
        limits,
        transport: o.transport,
        listen: [o.transport === 'memory' ? `/memory/mergemesh-${tag}-${i}` : '/ip4/127.0.0.1/tcp/0'],
        // Hellos only on joining: periodic ones would make the byte counts depend on wall time.
        helloIntervalMs: 0,
        fetchTimeoutMs: 120_000,
        follow: (p) => follows[i].has(p),
        meter: meters[i],
      });
      peers.push(peer);
      ids.push(peer.id);
    }
    graph.neighbours.forEach((ns, i) => ns.forEach((j) => follows[i].add(ids[j])));
    o.onStatus?.(`connecting ${graph.n} libp2p peers (${o.transport}) along the graph`);
    // Connections follow the graph's links, dialled from the higher index.
    for (let i = 0; i < graph.n; i++) {
      const links = new Set<number>(graph.neighbours[i]);
      graph.neighbours.forEach((ns, k) => ns.includes(i) && links.add(k));
      for (const j of links) if (j < i) await peers[i].dial(peers[j].addresses()[0]);
    }
    await until(
      'every peer to see its neighbours subscribed',
      () => peers.every((p, i) => graph.neighbours[i].every((j) => p.subscribers().includes(ids[j]))),
      30_000,
    );
    // Gossipsub builds its mesh on heartbeats (1 s).
    await new Promise((r) => setTimeout(r, 1500));
  } catch (e) {
    await Promise.allSettled(peers.map((p) => p.stop()));
    throw e;
  }
  const t0 = Date.now();
  const total = (): WireCounts => {
    const cs = meters.map((m) => m.counts());
    const sum = (k: 'protocolSent' | 'protocolReceived') => {
      const out = new Map<string, number>();
      for (const c of cs) for (const [id, n] of c[k]) out.set(id, (out.get(id) ?? 0) + n);
      return out;
    };
    return { transportSent: cs.reduce((a, c) => a + c.transportSent, 0), transportReceived: cs.reduce((a, c) => a + c.transportReceived, 0), protocolSent: sum('protocolSent'), protocolReceived: sum('protocolReceived') };
  };
  const base = total();
  const minus = (a: ReadonlyMap<string, number>, b: ReadonlyMap<string, number>) => new Map([...a].map(([k, v]) => [k, v - (b.get(k) ?? 0)]));
  const wire = (): WireCounts => {
    const c = total();
    return {
      transportSent: c.transportSent - base.transportSent,
      transportReceived: c.transportReceived - base.transportReceived,
      protocolSent: minus(c.protocolSent, base.protocolSent),
      protocolReceived: minus(c.protocolReceived, base.protocolReceived),
    };
  };
  const transports = peers.map((peer, i) =>
    libp2pTransport({
      peer,
      agent: i,
      ids,
      t0,
      meter: meters[i],
      neighbours: () => ({ self: o.mixing.self[i], peers: graph.neighbours[i].map((a, k) => ({ agent: a, weight: o.mixing.weights[i][k] })) }),
    }),
  );
  return { peers, transports, wire, stop: async () => void (await Promise.allSettled(peers.map((p) => p.stop()))) };
}
