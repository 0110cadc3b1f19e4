// A mergemesh peer on libp2p: publishes its versions on the run's topic (deltas inline when
// small), keeps the latest verified version of every neighbour, and pulls what it cannot
// apply from the author by hash. Every inbound message is validated in the topic validator
// (membership, size, schema, model, shape, and for inline deltas the reconstructed hash)
// before anything is allocated from it or forwarded.
import type { Message } from '@libp2p/interface';
import { TopicValidatorResult } from '@libp2p/interface';
import { peerIdFromString } from '@libp2p/peer-id';
import { multiaddr } from '@multiformats/multiaddr';
import type { CodecName, EncodeOptions } from '../../protocol/codecs/codec.js';
import { DEFAULT_LIMITS, PROTOCOL_VERSION, topicOf, type Limits } from '../../protocol/constants.js';
import { encodeMessage, isRejectReason, type Ack, type Announce, type GossipMessage, type Have, type Hello, type RejectReason, type Want } from '../../protocol/messages.js';
import { applyDelta, applySteps, checkShape, createPublisher, linksOf, verifyState, type ChainLink, type Published, type Version } from '../../protocol/versions.js';
import { BlobError, fetchBlob, serveBlobs, wantFrame } from './blob.js';
import { createHost, type Host } from './host.js';
import type { WireMeter } from './wire-meter.js';
import { createPeerMetrics, type PeerMetrics } from './metrics.js';
import { createReplicaStore, type Replica, type ReplicaStore } from './replicas.js';
import { createGossipValidator, type Verdict } from './validate.js';
import type { PrivateKey } from '@libp2p/interface';

export interface PeerOptions {
  readonly run: string;
  /** The run's model definition (JSON data); versions are hashed with it. */
  readonly model: unknown;
  /** Parameters per version (the model's flat size). */
  readonly n: number;
  readonly codec?: CodecName;
  readonly codecOptions?: EncodeOptions;
  readonly limits?: Limits;
  readonly listen?: ReadonlyArray<string>;
  readonly transport?: 'tcp' | 'memory';
  readonly privateKey?: PrivateKey;
  readonly bootstrap?: ReadonlyArray<string>;
  readonly mdns?: boolean;
  /** Peer ids of the run's members (default: anyone who can connect). */
  readonly members?: ReadonlyArray<string>;
  readonly psk?: Uint8Array;
  /** Where neighbour replicas persist across restarts. */
  readonly storeDir?: string;
  readonly metrics?: PeerMetrics;
  readonly agent?: string;
  readonly history?: number;
  readonly fetchTimeoutMs?: number;
  /** Hello period (ms); 0 sends one at start only. */
  readonly helloIntervalMs?: number;
  readonly acks?: boolean;
  /**
   * Whose versions to keep (default: every member's). Others' announcements are still
   * validated and forwarded, but neither stored nor pulled: a peer holds only what it merges.
   */
  readonly follow?: (peer: string) => boolean;
  /** Count libp2p's bytes with this meter (libp2p's own Prometheus metrics are then off). */
  readonly meter?: WireMeter;
}

export interface HeardVersion {
  readonly seq: number;
  readonly hash: string;
  readonly parent: string | null;
  readonly metrics?: Readonly<Record<string, number>>;
  /** Date.now() when it was heard of. */
  readonly at: number;
}

export interface VersionEvent {
  readonly peer: string;
  readonly replica: Replica;
  readonly via: 'inline' | 'deltas' | 'state';
}

export interface MeshPeer {
  readonly id: string;
  readonly host: Host;
  readonly replicas: ReplicaStore;
  readonly metrics: PeerMetrics;
  readonly modelHash: string;
  addresses(): string[];
  /** Connects to a peer by multiaddr (gives up after `timeoutMs`, default 10 s). */
  dial(addr: string, timeoutMs?: number): Promise<void>;
  publish(values: Float32Array, metrics?: Record<string, number>): Promise<Published>;
  /** Pulls `hash` of `peer` now (also done automatically on announcements). */
  fetch(peer: string, ref: { seq: number; hash: string; parent: string | null }): Promise<Replica>;
  onVersion(fn: (e: VersionEvent) => void): () => void;
  /** Bytes sent and received so far, by message type (what mergemesh_bytes_total counts). */
  bytes(): { readonly in: ReadonlyMap<string, number>; readonly out: ReadonlyMap<string, number> };
  /** The newest version of `peer` announced (held or not yet). */
  heard(peer: string): HeardVersion | undefined;
  /** Peers seen subscribed to the run's topic. */
  subscribers(): string[];
  /** Neighbour → the last of our versions it acknowledged. */
  acks(): ReadonlyMap<string, string>;
  /** Updates gauges that depend on time (call before scraping). */
  refreshMetrics(): void;
  stop(): Promise<void>;
}

interface VersionRef {
  readonly seq: number;
  readonly hash: string;
  readonly parent: string | null;
  readonly metrics?: Readonly<Record<string, number>>;
}

export async function createPeer(o: PeerOptions): Promise<MeshPeer> {
  const limits = o.limits ?? DEFAULT_LIMITS;
  const topic = topicOf(o.run);
  const metrics = o.metrics ?? createPeerMetrics();
  const members = o.members ? new Set(o.members) : undefined;
  const publisher = createPublisher({ run: o.run, model: o.model, codec: o.codec ?? 'int8', codecOptions: o.codecOptions, history: o.history, limits });
  const mh = publisher.modelHash;
  const replicas = createReplicaStore({ model: o.model, modelHash: mh, n: o.n, dir: o.storeDir, history: o.history });
  await replicas.restore();
  const host = await createHost({
    listen: o.listen ?? ['/ip4/127.0.0.1/tcp/0'],
    transport: o.transport ?? 'tcp',
    privateKey: o.privateKey,
    bootstrap: o.bootstrap,
    mdns: o.mdns,
    members: members && new Set([...members]),
    psk: o.psk,
    topic,
    limits,
    registry: metrics.registry,
    meter: o.meter,
  });
  const self = host.peerId.toString();
  if (members && !members.has(self)) members.add(self);
  const listeners = new Set<(e: VersionEvent) => void>();
  const acked = new Map<string, string>();
  const wanted = new Map<string, VersionRef>();
  const heard = new Map<string, HeardVersion>();
  const follows = o.follow ?? (() => true);
  const hear = (peer: string, ref: VersionRef) => {
    const cur = heard.get(peer);
    if (!cur || ref.seq > cur.seq) heard.set(peer, { ...ref, at: Date.now() });
  };
  const inflight = new Map<string, Promise<void>>();
  const accepted = new WeakMap<Message, Verdict>();
  let stopped = false;
  // Stores in progress: stop() waits for them, so no version event follows it.
  const pending = new Set<Promise<void>>();
  const track = (p: Promise<void>) => {
    const q = p.catch(() => undefined).finally(() => pending.delete(q));
    pending.add(q);
  };

  const reject = (reason: RejectReason) => metrics.rejects.inc({ reason });
  // Bytes by direction and type, in the Prometheus counter and in a plain tally read synchronously.
  const tally = { in: new Map<string, number>(), out: new Map<string, number>() };
  const count = (direction: 'in' | 'out', type: string, n: number) => {
    metrics.bytes.inc({ direction, type }, n);
    tally[direction].set(type, (tally[direction].get(type) ?? 0) + n);
  };
  const emit = (e: VersionEvent) => {
    metrics.versionsReceived.inc();
    for (const l of listeners) l(e);
  };

  const gossip = async (msg: GossipMessage) => {
    const bytes = encodeMessage(msg);
    if (bytes.byteLength > limits.maxGossipBytes) throw new Error(`${msg.t} message of ${bytes.byteLength} bytes exceeds the gossip limit`);
    const { recipients } = await host.services.pubsub.publish(topic, bytes);
    count('out', msg.t, bytes.byteLength * recipients.length);
  };

  const store = async (peer: string, version: Version, via: VersionEvent['via'], m?: Readonly<Record<string, number>>, links?: ReadonlyArray<ChainLink>) => {
    const held = replicas.latest(peer);
    if (held && held.seq >= version.seq) return;
    await replicas.set(peer, version, m, links);
    emit({ peer, replica: replicas.latest(peer)!, via });
    if (o.acks ?? true) await gossip({ v: PROTOCOL_VERSION, t: 'ack', run: o.run, peer, hash: version.hash } satisfies Ack).catch(() => undefined);
  };

  /**
   * Pulls version `ref` of `author` from a peer that holds it: the author when connected,
   * else any connected neighbour (versions are content-addressed, so any holder will do).
   */
  const pull = async (author: string, ref: VersionRef): Promise<void> => {
    if (members && !members.has(author)) {
      reject('non-member');
      throw new BlobError('non-member', `${author} is not a member of run ${o.run}`);
    }
    const held = replicas.latest(author);
    const connected = host.getPeers().map((p) => p.toString());
    const sources = [...new Set([author, ...connected])].filter((p) => connected.includes(p));
    let last: BlobError = new BlobError('not-found', 'no connected peer holds it');
    for (const source of sources) {
      let res;
      try {
        const req: Want = { v: PROTOCOL_VERSION, t: 'want', run: o.run, hash: ref.hash, bases: held ? [held.hash] : [] };
        count('out', 'want', wantFrame(req).byteLength);
        res = await fetchBlob(host, peerIdFromString(source), req, { limits, timeoutMs: o.fetchTimeoutMs ?? 30_000, n: o.n });
      } catch (e) {
        last = e instanceof BlobError ? e : new BlobError('transport', String(e));
        // A holder that simply lacks the version is not misbehaving.
        // A holder that lacks the version or is busy is not misbehaving; a broken connection
        // is a failure, not a rejection.
        if (isRejectReason(last.reason)) reject(last.reason);
        else if (last.reason !== 'not-found' && last.reason !== 'busy') metrics.fetchFailures.inc({ reason: last.reason });
        continue;
      }
      count('in', 'blob', res.wireBytes);
      let checked;
      if (res.header.kind === 'state') {
        checked = verifyState(o.model, o.n, res.payload, ref);
      } else {
        const base = replicas.byHash(res.header.steps![0].base);
        checked = base ? applySteps(o.model, base, res.header.steps!, res.payload, ref.seq) : undefined;
      }
      if (!checked || !checked.ok) {
        reject(checked ? checked.reason : 'bad-field');
        continue;
      }
      const links = res.header.kind === 'deltas' ? linksOf(res.header.steps!, res.payload) : undefined;
      await store(author, { ...checked.msg, parent: ref.parent }, res.header.kind, ref.metrics, links);
      return;
    }
    throw last;
  };

  const pump = (peer: string) => {
    if (inflight.has(peer) || stopped) return;
    const run = (async () => {
      // Neighbours may still be fetching a version themselves: back off and retry.
      for (let attempt = 0; !stopped; ) {
        const ref = wanted.get(peer);
        const held = replicas.latest(peer);
        if (!ref || (held && held.seq >= ref.seq)) break;
        try {
          await pull(peer, ref);
          attempt = 0;
        } catch {
          if (++attempt > 8) break;
          await new Promise((r) => setTimeout(r, Math.min(2000, 50 * 2 ** attempt)));
          continue;
        }
        if (wanted.get(peer) === ref) wanted.delete(peer);
      }
    })().finally(() => inflight.delete(peer));
    inflight.set(peer, run);
  };

  const want = (peer: string, ref: VersionRef) => {
    const cur = wanted.get(peer);
    if (!cur || ref.seq > cur.seq) wanted.set(peer, ref);
    pump(peer);
  };

  // The validator's first argument is the forwarding peer; authorship is the signature's.
  const validate = createGossipValidator({ run: o.run, model: o.model, modelHash: mh, n: o.n, limits, members, replicas, metrics });
  // The validator's first argument is the forwarding peer; authorship is the signature's.
  host.services.pubsub.topicValidators.set(topic, (_from, msg) => {
    const v = validate(msg.type === 'signed' ? msg.from.toString() : undefined, msg.data);
    if (v.result === 'reject') return TopicValidatorResult.Reject;
    count('in', v.msg.t, msg.data.byteLength);
    if (v.result === 'ignore') return TopicValidatorResult.Ignore;
    accepted.set(msg, v);
    return TopicValidatorResult.Accept;
  });

  host.services.pubsub.addEventListener('message', (evt) => {
    const msg = evt.detail;
    const v = accepted.get(msg);
    if (stopped || msg.topic !== topic || msg.type !== 'signed' || !v || v.result !== 'accept') return;
    const peer = msg.from.toString();
    const m = v.msg;
    if ((m.t === 'announce' || m.t === 'hello') && !follows(peer)) return;
    if (m.t === 'announce') {
      hear(peer, { seq: m.seq, hash: m.hash, parent: m.parent, metrics: m.metrics });
      const held = replicas.latest(peer);
      if (held?.hash === m.hash) {
        if (!held.metrics && m.metrics) track(replicas.set(peer, held, m.metrics));
        return;
      }
      if (v.verified) track(store(peer, v.verified.version, 'inline', m.metrics, [v.verified.link]));
      else if (replicas.latest(peer)?.hash !== m.hash) want(peer, { seq: m.seq, hash: m.hash, parent: m.parent, metrics: m.metrics });
    } else if (m.t === 'hello' && m.head) {
      const held = replicas.latest(peer);
      if (!held || held.seq < m.head.seq) want(peer, { seq: m.head.seq, hash: m.head.hash, parent: null });
    } else if (m.t === 'ack' && m.peer === self) {
      acked.set(peer, m.hash);
    } else if (m.t === 'have' && m.peer === self && m.hashes.length) {
      acked.set(peer, m.hashes[m.hashes.length - 1]);
    }
  });

  await serveBlobs(host, {
    run: o.run,
    limits,
    plan: (hash, bases) => {
      // Our own versions, else a neighbour's we hold (content-addressed, so relaying is safe).
      return publisher.plan(hash, bases) ?? replicas.plan(hash, bases);
    },
    onServed: (b) => count('out', 'blob', b),
    onReject: (r) => reject(r),
  });
  host.services.pubsub.subscribe(topic);

  const hello = (): Hello => {
    const head = publisher.head();
    return { v: PROTOCOL_VERSION, t: 'hello', run: o.run, agent: o.agent ?? 'mergemesh/0.1.0', model: o.model, mh, ...(head ? { head: { seq: head.seq, hash: head.hash } } : {}) };
  };
  const sayHello = () => gossip(hello()).catch(() => undefined);
  void sayHello();
  // A peer that just joined the topic learns our head at once rather than at the next timer
  // tick (after a short delay, so its subscription has settled on both sides).
  // It also learns which of its versions we hold (after our restart, so it need not resend).
  host.services.pubsub.addEventListener('subscription-change', (evt) => {
    if (stopped || !evt.detail.subscriptions.some((s) => s.topic === topic && s.subscribe)) return;
    const peer = evt.detail.peerId.toString();
    setTimeout(() => {
      if (stopped) return;
      void sayHello();
      const held = replicas.latest(peer);
      if (held) void gossip({ v: PROTOCOL_VERSION, t: 'have', run: o.run, peer, hashes: [held.hash] } satisfies Have).catch(() => undefined);
    }, 200).unref();
  });
  const timer = (o.helloIntervalMs ?? 5000) > 0 ? setInterval(sayHello, o.helloIntervalMs ?? 5000) : undefined;
  timer?.unref();
  return {
    id: self,
    host,
    replicas,
    metrics,
    modelHash: mh,
    addresses: () => host.getMultiaddrs().map((a) => a.toString()),
    async dial(addr, timeoutMs = 10_000) {
      await host.dial(multiaddr(addr), { signal: AbortSignal.timeout(timeoutMs) });
    },
    async publish(values, m) {
      if (values.length !== o.n) throw new Error(`publish: ${values.length} values, the model has ${o.n}`);
      const p = publisher.publish(values, m);
      metrics.versionsSent.inc();
      await gossip(p.announce);
      return p;
    },
    async fetch(peer, ref) {
      // A pull of this peer may already be under way: let it finish first.
      await inflight.get(peer);
      const held = replicas.latest(peer);
      if (held && held.seq >= ref.seq) return held;
      await pull(peer, ref);
      return replicas.latest(peer)!;
    },
    heard: (peer) => heard.get(peer),
    bytes: () => tally,
    onVersion(fn) {
      listeners.add(fn);
      return () => listeners.delete(fn);
    },
    subscribers: () => host.services.pubsub.getSubscribers(topic).map((p) => p.toString()),
    acks: () => acked,
    refreshMetrics() {
      const now = Date.now();
      for (const p of replicas.peers()) {
        const r = replicas.latest(p)!;
        metrics.staleness.set({ peer: p }, (now - r.updated) / 1000);
        metrics.lag.set({ peer: p }, Math.max(0, (wanted.get(p)?.seq ?? r.seq) - r.seq));
      }
    },
    async stop() {
      stopped = true;
      if (timer) clearInterval(timer);
      await Promise.allSettled([...inflight.values(), ...pending]);
      await host.stop();
    },
  };
}
