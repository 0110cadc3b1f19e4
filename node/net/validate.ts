// The gossip validator of a peer, separate from libp2p so it can be fuzzed directly: it
// decides on a message from its signer and bytes alone, in order of cost (membership, size,
// schema, model and shape, then for an inline delta on a held base the reconstructed hash),
// and never touches the replica store.
import type { Limits } from '../../protocol/constants.js';
import { decodeGossip, type GossipMessage, type RejectReason } from '../../protocol/messages.js';
import { applyDelta, checkShape, type ChainLink, type Version } from '../../protocol/versions.js';
import type { PeerMetrics } from './metrics.js';
import type { ReplicaStore } from './replicas.js';

export type Verdict =
  | { readonly result: 'accept'; readonly msg: GossipMessage; readonly verified?: { readonly version: Version; readonly link: ChainLink } }
  | { readonly result: 'ignore'; readonly msg: GossipMessage }
  | { readonly result: 'reject'; readonly reason: RejectReason; readonly detail: string };

export interface ValidatorOptions {
  readonly run: string;
  readonly model: unknown;
  readonly modelHash: string;
  readonly n: number;
  readonly limits: Limits;
  /** Peer ids allowed to publish in the run (undefined: anyone who can connect). */
  readonly members?: ReadonlySet<string>;
  readonly replicas: Pick<ReplicaStore, 'latest' | 'byHash'>;
  /** Every rejection is counted here, by reason. */
  readonly metrics?: Pick<PeerMetrics, 'rejects'>;
}

export type GossipValidator = (signer: string | undefined, data: Uint8Array) => Verdict;

export function createGossipValidator(o: ValidatorOptions): GossipValidator {
  const reject = (reason: RejectReason, detail: string): Verdict => {
    o.metrics?.rejects.inc({ reason });
    return { result: 'reject', reason, detail };
  };
  return (signer, data) => {
    if (!signer) return reject('non-member', 'unsigned message');
    if (o.members && !o.members.has(signer)) return reject('non-member', `${signer} is not a member of run ${o.run}`);
    if (data.byteLength > o.limits.maxGossipBytes) return reject('oversize', `${data.byteLength} bytes (limit ${o.limits.maxGossipBytes})`);
    const d = decodeGossip(data, o.run, o.limits);
    if (!d.ok) return reject(d.reason, d.detail);
    const m = d.msg;
    if (m.t === 'hello' && m.mh !== o.modelHash) return reject('wrong-model', `model ${m.mh.slice(0, 12)}… is not the run's`);
    if (m.t !== 'announce') return { result: 'accept', msg: m };
    const shape = checkShape(m, o.modelHash, o.n);
    if (!shape.ok) return reject(shape.reason, shape.detail);
    const held = o.replicas.latest(signer);
    // Old news is ignored; the same version again only when it adds nothing (a version pulled
    // after a hello arrives without the metrics its announcement carries).
    if (held && (held.seq > m.seq || (held.seq === m.seq && (held.hash !== m.hash || held.metrics || !m.metrics)))) return { result: 'ignore', msg: m };
    if (held && held.seq === m.seq) return { result: 'accept', msg: m };
    if (!m.delta) return { result: 'accept', msg: m };
    const base = o.replicas.byHash(m.delta.base);
    // Without the base the delta cannot be checked here; the receiver pulls by hash instead.
    if (!base) return { result: 'accept', msg: m };
    const r = applyDelta(o.model, base, m.delta.codec, m.delta.payload, m);
    if (!r.ok) return reject(r.reason, r.detail);
    return {
      result: 'accept',
      msg: m,
      verified: { version: { ...r.msg, parent: m.parent }, link: { hash: m.hash, parent: m.delta.base, delta: { codec: m.delta.codec, payload: m.delta.payload } } },
    };
  };
}
