// Fuzzing the wire's decoders and the gossip validator: over 10,000 random and mutated
// messages (truncated, oversize, wrong types, wrong shapes, NaN/Inf, unknown versions).
// Nothing may throw, no replica may change, and every rejection carries a reason that is
// counted in the peer's metrics.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createPeerMetrics } from '../../node/net/metrics.js';
import { createReplicaStore, type ReplicaStore } from '../../node/net/replicas.js';
import { createGossipValidator } from '../../node/net/validate.js';
import { createRng } from '../../node/util/rng.js';
import { CODEC_NAMES } from '../../protocol/codecs/index.js';
import { DEFAULT_LIMITS, PROTOCOL_VERSION } from '../../protocol/constants.js';
import { stateHash } from '../../protocol/hash.js';
import { decodeGossip, decodeStream, encodeMessage, REJECT_REASONS, type RejectReason } from '../../protocol/messages.js';
import { createPublisher } from '../../protocol/versions.js';
import { MUTATIONS, mutate } from '../helpers/fuzz.js';

const MODEL = { kind: 'mlp', input: [1, 28, 28], hidden: [8], classes: 10 };
const N = 784 * 8 + 8 + 8 * 10 + 10;
const RUN = 'fuzz';
const limits = { ...DEFAULT_LIMITS, maxGossipBytes: 64 * 1024, maxChunkBytes: 16 * 1024 };

function snapshot(store: ReplicaStore): string {
  return store
    .peers()
    .sort()
    .map((p) => {
      const r = store.latest(p)!;
      return `${p}:${r.seq}:${r.hash}:${createHash('sha256').update(new Uint8Array(r.values.buffer, r.values.byteOffset, r.values.byteLength)).digest('hex')}`;
    })
    .join('\n');
}

async function setup() {
  const rng = createRng(7);
  const store = createReplicaStore({ model: MODEL, modelHash: createPublisher({ run: RUN, model: MODEL, codec: 'raw' }).modelHash, n: N });
  const gossip: Uint8Array[] = [];
  const members = new Set<string>();
  let mh = '';
  // One author per codec; the store holds each author's version k, the messages announce k+1.
  for (const codec of CODEC_NAMES) {
    const author = `author-${codec}`;
    members.add(author);
    const pub = createPublisher({ run: RUN, model: MODEL, codec, limits });
    mh = pub.modelHash;
    const x = Float32Array.from({ length: N }, () => rng.normal() * 0.1);
    const first = pub.publish(x);
    await store.set(author, first.version);
    for (let i = 0; i < N; i++) x[i] += rng.normal() * 1e-3;
    const next = pub.publish(x, { loss: 0.5, acc: 0.9 });
    expect(next.announce.delta).toBeDefined();
    gossip.push(encodeMessage(next.announce));
    gossip.push(encodeMessage({ ...next.announce, delta: undefined }));
  }
  gossip.push(encodeMessage({ v: PROTOCOL_VERSION, t: 'hello', run: RUN, agent: 'mergemesh/0.1.0', model: MODEL, mh, head: { seq: 3, hash: 'a'.repeat(64) } }));
  gossip.push(encodeMessage({ v: PROTOCOL_VERSION, t: 'ack', run: RUN, peer: 'author-raw', hash: 'b'.repeat(64) }));
  gossip.push(encodeMessage({ v: PROTOCOL_VERSION, t: 'have', run: RUN, peer: 'author-raw', hashes: ['c'.repeat(64), 'd'.repeat(64)] }));
  const stream = [
    encodeMessage({ v: PROTOCOL_VERSION, t: 'want', run: RUN, hash: 'a'.repeat(64), bases: ['b'.repeat(64)] }),
    encodeMessage({ v: PROTOCOL_VERSION, t: 'blob', run: RUN, hash: 'a'.repeat(64), kind: 'state', n: N, bytes: 4 * N }),
    encodeMessage({ v: PROTOCOL_VERSION, t: 'blob', run: RUN, hash: 'a'.repeat(64), kind: 'deltas', n: N, bytes: 300, steps: [{ codec: 'int8', base: 'b'.repeat(64), hash: 'a'.repeat(64), bytes: 300 }] }),
    encodeMessage({ t: 'chunk', i: 0, data: new Uint8Array(1000).fill(7) }),
    encodeMessage({ v: PROTOCOL_VERSION, t: 'error', code: 'not-found', message: 'nope' }),
  ];
  return { rng, store, gossip, stream, members, mh };
}

describe('fuzzing', () => {
  it('10,000+ hostile messages: no throw, no replica changed, every rejection counted by reason', async () => {
    const { rng, store, gossip, stream, members, mh } = await setup();
    const metrics = createPeerMetrics();
    const validate = createGossipValidator({ run: RUN, model: MODEL, modelHash: mh, n: N, limits, members, replicas: store, metrics });
    const before = snapshot(store);
    // The unmutated messages pass: the fuzzing starts from valid ground.
    for (const g of gossip) expect(validate('author-int8', g).result).not.toBe('reject');
    for (const s of stream) expect(decodeStream(s, RUN, limits).ok).toBe(true);

    const thrown: string[] = [];
    const tally = new Map<string, number>();
    const byMutation = new Map<string, { total: number; rejected: number }>();
    let gossipCount = 0;
    let streamCount = 0;
    let rejected = 0;
    const signers = [...members, 'outsider', 'author-raw'];
    for (let k = 0; k < 12_000; k++) {
      const kind = MUTATIONS[rng.int(MUTATIONS.length)];
      const isGossip = k % 4 !== 3;
      const base = isGossip ? gossip[rng.int(gossip.length)] : stream[rng.int(stream.length)];
      const bytes = mutate(rng, base, kind, isGossip ? limits.maxGossipBytes : Math.max(limits.maxChunkBytes + 64, limits.maxRequestBytes));
      const stats = byMutation.get(kind) ?? { total: 0, rejected: 0 };
      byMutation.set(kind, stats);
      stats.total++;
      try {
        if (isGossip) {
          gossipCount++;
          const signer = signers[rng.int(signers.length)];
          const v = validate(signer, bytes);
          if (v.result === 'reject') {
            rejected++;
            stats.rejected++;
            expect(REJECT_REASONS).toContain(v.reason);
            tally.set(v.reason, (tally.get(v.reason) ?? 0) + 1);
          } else {
            // Whatever passes is a well-formed message of the run from a member…
            expect(members.has(signer)).toBe(true);
            expect(decodeGossip(encodeMessage(v.msg), RUN, limits).ok).toBe(true);
            // …and a delta accepted as verified really reconstructs the announced version.
            if (v.result === 'accept' && v.verified) expect(stateHash(MODEL, v.verified.version.values)).toBe(v.verified.version.hash);
          }
        } else {
          streamCount++;
          const d = decodeStream(bytes, RUN, limits);
          if (!d.ok) {
            stats.rejected++;
            expect(REJECT_REASONS).toContain(d.reason);
            tally.set(`stream:${d.reason}`, (tally.get(`stream:${d.reason}`) ?? 0) + 1);
          } else expect(decodeStream(encodeMessage(d.msg), RUN, limits).ok).toBe(true);
        }
      } catch (e) {
        thrown.push(`${kind}: ${(e as Error).stack?.split('\n').slice(0, 3).join(' | ')}`);
      }
    }
    expect(thrown.slice(0, 5)).toEqual([]);
    expect(gossipCount + streamCount).toBeGreaterThanOrEqual(10_000);
    // No replica changed: validation never writes.
    expect(snapshot(store)).toBe(before);
    // Every gossip rejection is in the metrics, under its reason.
    const counted = (await metrics.rejects.get()).values;
    const total = counted.reduce((a, v) => a + v.value, 0);
    expect(total).toBe(rejected);
    for (const r of REJECT_REASONS) expect(counted.find((v) => v.labels.reason === r)?.value ?? 0).toBe(tally.get(r) ?? 0);
    // Every reason was exercised, on the gossip path.
    const seen = new Set([...tally.keys()].filter((k) => !k.startsWith('stream:')));
    expect([...REJECT_REASONS].filter((r) => !seen.has(r as RejectReason))).toEqual([]);
    // Random and oversize inputs are always rejected; the rest nearly always.
    expect(byMutation.get('oversize')!.rejected).toBe(byMutation.get('oversize')!.total);
    expect(byMutation.get('random-bytes')!.rejected).toBe(byMutation.get('random-bytes')!.total);
    expect(rejected / gossipCount).toBeGreaterThan(0.8);
    console.log(JSON.stringify({ fuzz: gossipCount + streamCount, gossipRejected: rejected, reasons: Object.fromEntries(tally) }));
  });
});
