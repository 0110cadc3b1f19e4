// The virtual network: a Transport per agent over a virtual clock, speaking the real protocol.
// Every agent has a real Publisher (so versions, hashes and lossy codecs are exactly those of
// the wire), and every message is encoded to count its bytes: announcements with their
// inline deltas, want requests, blob responses frame by frame, acknowledgements. Deliveries
// take latency + size / bandwidth; a delivery can be lost, and an agent can be down for whole
// rounds (churn). Gossip floods the run's topic over every connection (sim/gossip.ts), with
// gossipsub's envelope counted. Receivers behave as node/net's peers do: apply an inline delta to the held
// base, otherwise pull the version by hash (a delta chain when they hold a recent base).
import { CODEC_NAMES, type CodecName } from '../protocol/codecs/codec.js';
import { DEFAULT_LIMITS, PROTOCOL_VERSION, topicOf, type Limits } from '../protocol/constants.js';
import { encodeMessage, encodedSize, type Ack, type Announce, type BlobHeader } from '../protocol/messages.js';
import { createPublisher, type Publisher, type Staged } from '../protocol/versions.js';
import type { HeldVersion, KnownVersion, Neighbourhood, Traffic, Transport, VersionMeta } from '../node/agent/transport.js';
import { blobFrameBytes, wantFrame } from '../node/net/blob.js';
import { createRng } from '../node/util/rng.js';
import type { VirtualClock } from './clock.js';
import { flood, gossipEnvelopeBytes, undirectedLinks } from './gossip.js';
import type { Mixing } from './mixing.js';
import type { Graph } from './topology.js';

export interface VirtualNetworkOptions {
  readonly clock: VirtualClock;
  readonly agents: number;
  readonly run: string;
  readonly model: unknown;
  readonly codec: CodecName;
  readonly inlineDeltaBytes: number;
  readonly latencyS: number;
  readonly jitterS: number;
  readonly bandwidthBytesPerS: number;
  readonly loss: number;
  /** down[r][i]: agent i is down in round r (1-based; index 0 unused). */
  readonly down: ReadonlyArray<ReadonlyArray<boolean>>;
  readonly graphAt: (round: number) => Graph;
  readonly mixingAt: (round: number) => Mixing;
  readonly seed: number;
}

interface Node {
  readonly publisher: Publisher;
  readonly known: Map<number, KnownVersion>;
  readonly held: Map<number, HeldVersion>;
  /** Author → hash of a pull in flight. */
  readonly pulling: Map<number, string>;
  /** A version staged ahead of its announcement (Transport.prepare). */
  prepared?: { readonly values: Float32Array; readonly round: number; readonly frame: number; readonly staged: Staged };
  round: number;
  events: number;
  sent: number;
  received: number;
  control: number;
}

export interface VirtualNetwork {
  transport(agent: number): Transport;
  /** Deliveries lost so far (messages dropped by loss or by a down receiver). */
  lost(): number;
}

export function createVirtualNetwork(o: VirtualNetworkOptions): VirtualNetwork {
  if (!CODEC_NAMES.includes(o.codec)) throw new Error(`unknown codec ${o.codec}`);
  const limits: Limits = { ...DEFAULT_LIMITS, inlineDeltaBytes: o.inlineDeltaBytes, maxGossipBytes: Math.max(DEFAULT_LIMITS.maxGossipBytes, o.inlineDeltaBytes + 64 * 1024) };
  const nodes: Node[] = Array.from({ length: o.agents }, () => ({
    publisher: createPublisher({ run: o.run, model: o.model, codec: o.codec, limits }),
    known: new Map(),
    held: new Map(),
    pulling: new Map(),
    round: 0,
    events: 0,
    sent: 0,
    received: 0,
    control: 0,
  }));
  // Versions agents published, by hash (what a held base or a delta chain refers to): each
  // author's last KEPT, so a long run does not hold every version ever made (64 agents × 100
  // rounds of a 118k-parameter model would be 3 GB). Publishers serve their last 8 anyway.
  const versions = new Map<string, { values: Float32Array; meta: VersionMeta; seq: number }>();
  const KEPT = 16;
  const recent: string[][] = nodes.map(() => []);
  let lostCount = 0;
  const { clock } = o;

  const isDown = (i: number) => nodes[i].round > 0 && (o.down[nodes[i].round]?.[i] ?? false);
  const key = (i: number) => ({ owner: i, seq: nodes[i].events++ });
  // Loss and jitter are functions of (sender, receiver, message), not of event order.
  const draw = (a: number, b: number, n: number, salt: number) => createRng(o.seed * 1_000_003 + a * 7919 + b * 104_729 + n * 15_485_863 + salt).next();
  const delay = (a: number, b: number, n: number, bytes: number) => o.latencyS + (o.jitterS > 0 ? o.jitterS * draw(a, b, n, 1) : 0) + bytes / o.bandwidthBytesPerS;

  /** Agents that merge with `i` in `round` (its gossip recipients). */
  const audience = (i: number, round: number): number[] => {
    const g = o.graphAt(Math.max(1, round));
    const out: number[] = [];
    g.neighbours.forEach((ns, j) => {
      if (ns.includes(i)) out.push(j);
    });
    return out;
  };
  const topic = topicOf(o.run);
  const linksCache = new WeakMap<Graph, number[][]>();
  /**
   * Publishes `data` bytes on the run's topic from `origin`: the flood's bytes are charged to
   * every forwarder (as version traffic or as control) and to every receiver. Returns the
   * bytes of one copy.
   */
  const gossip = (origin: number, data: number, round: number, kind: 'version' | 'control'): number => {
    const g = o.graphAt(Math.max(1, round));
    let links = linksCache.get(g);
    if (!links) linksCache.set(g, (links = undirectedLinks(g.neighbours)));
    const bytes = gossipEnvelopeBytes(data, topic);
    const f = flood(links, origin, (k) => k !== origin && isDown(k));
    for (let k = 0; k < o.agents; k++) {
      if (kind === 'version') {
        nodes[k].sent += bytes * f.sends[k];
        nodes[k].received += bytes * f.receives[k];
      } else nodes[k].control += bytes * f.sends[k];
    }
    return bytes;
  };

  const store = (j: number, author: number, hash: string) => {
    const v = versions.get(hash);
    // Older than any author keeps: as good as lost (only a delivery delayed by many rounds).
    if (!v) return;
    const held = nodes[j].held.get(author);
    if (held && held.seq >= v.seq) return;
    const k = nodes[j].known.get(author);
    nodes[j].held.set(author, { agent: author, seq: v.seq, hash, meta: v.meta, at: k?.hash === hash ? k.at : clock.now(), values: v.values });
    // The acknowledgement every peer gossips after storing a version.
    const ack: Ack = { v: PROTOCOL_VERSION, t: 'ack', run: o.run, peer: `agent-${author}`, hash };
    gossip(j, encodeMessage(ack).byteLength, nodes[j].round, 'control');
  };

  /** j pulls `hash` of `author` by hash; resolves at arrival (true) or failure (false). */
  const pull = (j: number, author: number, hash: string, onDone?: (ok: boolean) => void) => {
    const node = nodes[j];
    node.pulling.set(author, hash);
    const finished = () => {
      if (node.pulling.get(author) === hash) node.pulling.delete(author);
    };
    const held = node.held.get(author);
    const want = { v: PROTOCOL_VERSION, t: 'want' as const, run: o.run, hash, bases: held ? [held.hash] : [] };
    const wantBytes = wantFrame(want).byteLength;
    node.sent += wantBytes;
    const n = node.events;
    const tReq = clock.now() + delay(j, author, n, wantBytes);
    clock.at(tReq, key(j), () => {
      const server = nodes[author];
      if (!isDown(author)) server.received += wantBytes;
      const plan = isDown(author) ? undefined : server.publisher.plan(hash, want.bases);
      if (!plan) {
        finished();
        onDone?.(false);
        return;
      }
      const header: BlobHeader = {
        v: PROTOCOL_VERSION,
        t: 'blob',
        run: o.run,
        hash,
        kind: plan.kind,
        n: plan.version.values.length,
        bytes: plan.payload.byteLength,
        ...(plan.kind === 'deltas' ? { steps: plan.steps } : {}),
      };
      const bytes = blobFrameBytes(header, plan.payload.byteLength, limits.maxChunkBytes);
      server.sent += bytes;
      clock.at(clock.now() + delay(author, j, n, bytes), key(author), () => {
        finished();
        if (isDown(j)) {
          lostCount++;
          onDone?.(false);
          return;
        }
        node.received += bytes;
        store(j, author, hash);
        onDone?.(true);
      });
    });
  };

  const deliver = (i: number, j: number, ann: Announce, bytes: number) => {
    const node = nodes[j];
    if (isDown(j)) {
      lostCount++;
      return;
    }
    const v = versions.get(ann.hash);
    if (!v) {
      lostCount++;
      return;
    }
    const k = node.known.get(i);
    if (!k || k.seq < ann.seq) node.known.set(i, { agent: i, seq: ann.seq, hash: ann.hash, meta: v.meta, at: clock.now() });
    const held = node.held.get(i);
    if (held && held.seq >= ann.seq) return;
    if (ann.delta && held?.hash === ann.delta.base) store(j, i, ann.hash);
    else if (node.pulling.get(i) !== ann.hash) pull(j, i, ann.hash);
  };

  const transport = (j: number): Transport => ({
    agent: j,
    now: () => clock.now(),
    sleep: (s) => clock.sleep(s, key(j)),
    online(round) {
      nodes[j].round = round;
      return !(o.down[round]?.[j] ?? false);
    },
    neighbours(round): Neighbourhood {
      const g = o.graphAt(round);
      const m = o.mixingAt(round);
      return { self: m.self[j], peers: g.neighbours[j].map((a, k) => ({ agent: a, weight: m.weights[j][k] })) };
    },
    prepare(values, meta) {
      nodes[j].prepared = { values, round: meta.round, frame: meta.frame, staged: nodes[j].publisher.stage(values) };
    },
    async announce(values, meta) {
      const node = nodes[j];
      if (meta.round > 0) node.round = meta.round;
      const ready = node.prepared;
      node.prepared = undefined;
      const metrics = { round: meta.round, frame: meta.frame };
      const fresh = ready && ready.values === values && ready.round === meta.round && ready.frame === meta.frame && ready.staged.head === (node.publisher.head()?.hash ?? null);
      const pub = fresh ? node.publisher.commit(ready.staged, metrics) : node.publisher.publish(values, metrics);
      versions.set(pub.version.hash, { values: pub.version.values, meta, seq: pub.version.seq });
      recent[j].push(pub.version.hash);
      if (recent[j].length > KEPT) versions.delete(recent[j].shift()!);
      const bytes = gossip(j, encodedSize(pub.announce), meta.round, 'version');
      const to = audience(j, meta.round);
      const n = node.events;
      for (const r of to) {
        if (o.loss > 0 && draw(j, r, n, 2) < o.loss) {
          lostCount++;
          continue;
        }
        clock.at(clock.now() + delay(j, r, n, bytes), key(j), () => deliver(j, r, pub.announce, bytes));
      }
      return { seq: pub.version.seq, hash: pub.version.hash, values: pub.version.values };
    },
    known: (a) => nodes[j].known.get(a),
    async fetch(a, hash) {
      const node = nodes[j];
      const wanted = versions.get(hash);
      // A newer version held by then serves as well (the agent merges with the newest it can).
      const held = () => {
        const h = node.held.get(a);
        return h && (h.hash === hash || (wanted && h.seq > wanted.seq)) ? h : undefined;
      };
      if (held()) return held();
      if (node.pulling.get(a) === hash) {
        await clock.waitFor(() => node.pulling.get(a) !== hash, Infinity, j);
        return held();
      }
      // Not held and not on its way (e.g. the announcement's delta applied to a lost base).
      let ok = false;
      let done = false;
      pull(j, a, hash, (r) => {
        ok = r;
        done = true;
      });
      await clock.waitFor(() => done, Infinity, j);
      return ok ? held() : undefined;
    },
    awaitRound: async (agents, round, timeoutS) => {
      await clock.waitFor(() => agents.every((a) => (nodes[j].held.get(a)?.meta.round ?? -1) >= round), timeoutS, j);
    },
    traffic: (): Traffic => ({ sent: nodes[j].sent, received: nodes[j].received, control: nodes[j].control }),
  });

  return { transport, lost: () => lostCount };
}
