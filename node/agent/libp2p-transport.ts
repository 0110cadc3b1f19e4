// Transport over a real libp2p peer (node/net): announcements are signed gossip, versions come
// inline or by hash over the blob protocol, and the clock is the wall clock. Round and frame
// travel in the announcement's metrics.
import type { MeshPeer } from '../net/peer.js';
import type { WireMeter } from '../net/wire-meter.js';
import type { HeldVersion, KnownVersion, Neighbourhood, Transport } from './transport.js';

export interface Libp2pTransportOptions {
  readonly peer: MeshPeer;
  readonly agent: number;
  /** Peer id of each agent of the run, by index. */
  readonly ids: ReadonlyArray<string>;
  readonly neighbours: (round: number) => Neighbourhood;
  /** Wall-clock origin (ms, Date.now()) of the run. */
  readonly t0?: number;
  /**
   * When given, traffic is what libp2p measured on mergemesh's streams (gossip forwarding and
   * gossipsub's envelopes included); the peer's own count then only splits off control.
   */
  readonly meter?: WireMeter;
}

// mergemesh's streams: the run topic's gossipsub and the blob protocol.
const OURS = /^\/(meshsub|mergemesh)\//;

const CONTROL = ['hello', 'ack', 'have'];
const VERSION_OUT = ['announce', 'blob', 'want'];
const VERSION_IN = ['announce', 'blob'];

export function libp2pTransport(o: Libp2pTransportOptions): Transport {
  const t0 = o.t0 ?? Date.now();
  const index = new Map(o.ids.map((id, i) => [id, i]));
  const metaOf = (agent: number, m?: Readonly<Record<string, number>>) => ({ round: m?.round ?? -1, frame: m?.frame ?? agent });
  const held = (agent: number): HeldVersion | undefined => {
    const r = o.peer.replicas.latest(o.ids[agent]);
    return r && { agent, seq: r.seq, hash: r.hash, meta: metaOf(agent, r.metrics), at: (r.updated - t0) / 1000, values: r.values };
  };
  const sum = (m: ReadonlyMap<string, number>, types: ReadonlyArray<string>) => types.reduce((a, t) => a + (m.get(t) ?? 0), 0);

  return {
    agent: o.agent,
    now: () => (Date.now() - t0) / 1000,
    // Training took real time already.
    sleep: async () => undefined,
    online: () => true,
    neighbours: o.neighbours,
    async announce(values, meta) {
      const p = await o.peer.publish(values, { round: meta.round, frame: meta.frame });
      return { seq: p.version.seq, hash: p.version.hash, values: p.version.values };
    },
    known(agent): KnownVersion | undefined {
      const h = o.peer.heard(o.ids[agent]);
      if (!h) return held(agent);
      return { agent, seq: h.seq, hash: h.hash, meta: metaOf(agent, h.metrics), at: (h.at - t0) / 1000 };
    },
    async fetch(agent, hash) {
      const have = held(agent);
      if (have?.hash === hash) return have;
      const k = o.peer.heard(o.ids[agent]);
      // Asked for an older version than the newest heard of: the newest held serves as well.
      if (!k || k.hash !== hash) return have;
      try {
        await o.peer.fetch(o.ids[agent], { seq: k.seq, hash: k.hash, parent: k.parent });
      } catch {
        return have;
      }
      return held(agent);
    },
    async awaitRound(agents, round, timeoutS) {
      const ready = () => agents.every((a) => (held(a)?.meta.round ?? -1) >= round);
      if (ready()) return;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, timeoutS * 1000);
        const off = o.peer.onVersion((e) => {
          if (index.has(e.peer) && ready()) done();
        });
        function done() {
          clearTimeout(timer);
          off();
          resolve();
        }
      });
    },
    traffic() {
      const b = o.peer.bytes();
      const control = sum(b.out, CONTROL);
      if (!o.meter) return { sent: sum(b.out, VERSION_OUT), received: sum(b.in, VERSION_IN), control };
      const c = o.meter.counts();
      const ours = (m: ReadonlyMap<string, number>) => [...m].reduce((a, [id, n]) => a + (OURS.test(id) ? n : 0), 0);
      return { sent: Math.max(0, ours(c.protocolSent) - control), received: Math.max(0, ours(c.protocolReceived) - sum(b.in, CONTROL)), control };
    },
  };
}
