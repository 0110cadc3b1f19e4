// Hostile peers on real libp2p connections: a member gossiping fuzzed messages, a requester
// sending fuzzed blob requests, and a blob server answering with forged or broken responses.
// Honest peers reject each with a counted reason, penalise gossip offenders, forward nothing
// invalid, and keep their replicas intact.
import type { Stream } from '@libp2p/interface';
import { describe, expect, it } from 'vitest';
import { frame, readFrames } from '../../node/net/framing.js';
import { createHost, type Host } from '../../node/net/host.js';
import { createPeer, type MeshPeer } from '../../node/net/peer.js';
import { createRng } from '../../node/util/rng.js';
import { BLOB_PROTOCOL, DEFAULT_LIMITS, PROTOCOL_VERSION, topicOf } from '../../protocol/constants.js';
import { stateHash } from '../../protocol/hash.js';
import { decodeStream, encodeMessage, REJECT_REASONS, type BlobHeader } from '../../protocol/messages.js';
import { createPublisher } from '../../protocol/versions.js';
import { MUTATIONS, mutate, randomBytes } from '../helpers/fuzz.js';
import { line, rejectCount, stopAll, TEST_MODEL, TEST_N, waitFor } from '../helpers/mesh.js';

const totalRejects = async (p: MeshPeer) => (await p.metrics.rejects.get()).values.reduce((a, v) => a + v.value, 0);
const noise = (seed: number) => {
  const rng = createRng(seed);
  return Float32Array.from({ length: TEST_N }, () => rng.normal() * 0.05);
};

describe('hostile peers', () => {
  it('a member gossiping fuzzed messages is rejected, penalised and not forwarded', async () => {
    // H – V – R
    const [h, v, r] = await line(3, { run: 'hostile-gossip', codec: 'int8' });
    try {
      const hv = await h.publish(noise(1));
      await waitFor('V and R to hold H', () => v.replicas.latest(h.id)?.hash === hv.version.hash && r.replicas.latest(h.id)?.hash === hv.version.hash);
      // Valid templates whose inline deltas apply to H's version, which V holds: mutations of
      // them reach the expensive checks (delta decoding and the hash).
      const pub = createPublisher({ run: 'hostile-gossip', model: TEST_MODEL, codec: 'int8' });
      pub.publish(hv.version.values);
      const next = hv.version.values.map((x, i) => x + (i % 7) * 1e-3);
      const templates = [encodeMessage(pub.publish(next, { acc: 0.5 }).announce)];
      templates.push(encodeMessage({ v: PROTOCOL_VERSION, t: 'hello', run: 'hostile-gossip', agent: 'x', model: TEST_MODEL, mh: v.modelHash }));
      const rng = createRng(3);
      const topic = topicOf('hostile-gossip');
      for (let k = 0; k < 200; k++) {
        const bytes = mutate(rng, templates[rng.int(templates.length)], MUTATIONS[rng.int(MUTATIONS.length)], DEFAULT_LIMITS.maxGossipBytes);
        // Publishing our own garbage is allowed locally; the neighbours judge it.
        await r.host.services.pubsub.publish(topic, bytes).catch(() => undefined);
      }
      await waitFor('V to reject R', async () => (await totalRejects(v)) >= 3);
      await new Promise((res) => setTimeout(res, 1500));
      // Penalised: R's score at V is negative (below gossipsub's thresholds it is ignored).
      expect(v.host.services.pubsub.getScore(r.id)).toBeLessThan(0);
      // Nothing invalid was forwarded: H rejected nothing (it saw only what V accepted).
      expect(await totalRejects(h)).toBe(0);
      // Replicas intact: V still holds H's version, bit for bit; anything held of R is a
      // version whose values hash to its name.
      const held = v.replicas.latest(h.id)!;
      expect(held.hash).toBe(hv.version.hash);
      expect(stateHash(TEST_MODEL, held.values)).toBe(hv.version.hash);
      for (const p of [h, v]) {
        const x = p.replicas.latest(r.id);
        if (x) expect(stateHash(TEST_MODEL, x.values)).toBe(x.hash);
      }
    } finally {
      await stopAll([h, v, r]);
    }
  });

  it('fuzzed blob requests get a bad-request answer, are counted, and the server keeps serving', async () => {
    const [s, x] = await line(2, { run: 'hostile-requests', codec: 'int8' });
    try {
      const sv = await s.publish(noise(2));
      await waitFor('X to hold S', () => x.replicas.latest(s.id)?.hash === sv.version.hash);
      const want = encodeMessage({ v: PROTOCOL_VERSION, t: 'want', run: 'hostile-requests', hash: sv.version.hash, bases: [] });
      const rng = createRng(5);
      const answers = new Map<string, number>();
      const request = async (bytes: Uint8Array, raw = false) => {
        const stream: Stream = await x.host.dialProtocol(s.host.peerId, BLOB_PROTOCOL);
        await stream.sink([raw ? bytes : frame(bytes)]);
        let first: string;
        try {
          first = 'closed';
          for await (const f of readFrames(stream.source, 1 << 20)) {
            const d = decodeStream(f, 'hostile-requests');
            first = d.ok ? (d.msg.t === 'error' ? `error:${d.msg.code}` : d.msg.t) : `undecodable:${d.reason}`;
            break;
          }
        } catch {
          first = 'aborted';
        }
        stream.abort(new Error('done'));
        answers.set(first, (answers.get(first) ?? 0) + 1);
        return first;
      };
      const before = await totalRejects(s);
      let bad = 0;
      for (let k = 0; k < 120; k++) {
        const kind = k % 10;
        let answer: string;
        if (kind === 0) answer = await request(randomBytes(rng, rng.int(64)), true); // not even a frame
        else if (kind === 1) answer = await request(Uint8Array.from([0xff, 0xff, 0xff, 0x7f, 1, 2, 3]), true); // a 2 GiB length prefix
        else answer = await request(mutate(rng, want, MUTATIONS[rng.int(MUTATIONS.length)], DEFAULT_LIMITS.maxRequestBytes));
        if (answer === 'error:bad-request') bad++;
        // Mutations that stay valid are served or answered not-found; nothing else comes back.
        expect(['error:bad-request', 'error:not-found', 'blob', 'closed', 'aborted']).toContain(answer);
      }
      // Every bad request the server answered as such was counted under a reason.
      expect(bad).toBeGreaterThan(60);
      expect((await totalRejects(s)) - before).toBeGreaterThanOrEqual(bad);
      // And it still serves honest requests.
      const got = await x.fetch(s.id, { seq: sv.version.seq, hash: sv.version.hash, parent: null });
      expect(got.hash).toBe(sv.version.hash);
      console.log(JSON.stringify({ hostileRequests: Object.fromEntries(answers) }));
    } finally {
      await stopAll([s, x]);
    }
  });

  it('forged and broken blob responses are rejected with a reason and never stored', async () => {
    const run = 'hostile-server';
    const v = await createPeer({ run, model: TEST_MODEL, n: TEST_N, helloIntervalMs: 0, fetchTimeoutMs: 3000 });
    const rogue: Host = await createHost({ listen: ['/ip4/127.0.0.1/tcp/0'], transport: 'tcp', topic: topicOf(run), limits: DEFAULT_LIMITS });
    try {
      const pub = createPublisher({ run, model: TEST_MODEL, codec: 'int8' });
      const v0 = pub.publish(noise(4)).version;
      const v1 = pub.publish(v0.values.map((x, i) => x + (i % 5) * 1e-3)).version;
      const state = (values: Float32Array) => new Uint8Array(values.buffer.slice(values.byteOffset, values.byteOffset + values.byteLength));
      const header = (o: Partial<BlobHeader>): Uint8Array => frame(encodeMessage({ v: PROTOCOL_VERSION, t: 'blob', run, hash: v1.hash, kind: 'state', n: TEST_N, bytes: 4 * TEST_N, ...o }));
      const chunks = (payload: Uint8Array, size = 64 * 1024) => {
        const out: Uint8Array[] = [];
        for (let i = 0, off = 0; off < payload.byteLength; i++, off += size) out.push(frame(encodeMessage({ t: 'chunk', i, data: payload.subarray(off, off + size) })));
        return out;
      };
      const nan = v1.values.slice();
      nan[123] = NaN;
      const plan = pub.plan(v1.hash, [v0.hash])!;
      expect(plan.kind).toBe('deltas');
      const corrupt = plan.payload.slice();
      corrupt[corrupt.byteLength - 10] ^= 0x40;
      // Each scenario: the frames the rogue answers with, and the reason the victim must give.
      const scenarios: Array<{ name: string; frames: Uint8Array[]; reason: string; hash?: string }> = [
        { name: 'another version', frames: [header({ hash: v0.hash }), ...chunks(state(v0.values))], reason: 'bad-field' },
        { name: 'wrong size', frames: [header({ n: TEST_N - 1, bytes: 4 * (TEST_N - 1) })], reason: 'wrong-shape' },
        { name: 'NaN in the state', frames: [header({}), ...chunks(state(nan))], reason: 'non-finite' },
        { name: 'other values', frames: [header({}), ...chunks(state(v0.values))], reason: 'hash-mismatch' },
        { name: 'more than announced', frames: [header({}), ...chunks(state(v1.values)), frame(encodeMessage({ t: 'chunk', i: chunks(state(v1.values)).length, data: new Uint8Array(8) }))], reason: 'oversize' },
        { name: 'chunks out of order', frames: [header({}), ...chunks(state(v1.values)).reverse()], reason: 'bad-field' },
        { name: 'a frame over the limit', frames: [header({}), Uint8Array.from([0, 0, 0, 0x10, 1, 2])], reason: 'oversize' },
        { name: 'stream ends mid-frame', frames: [header({}), chunks(state(v1.values))[0].subarray(0, 100)], reason: 'malformed' },
        { name: 'garbage', frames: [frame(randomBytes(createRng(9), 50))], reason: 'malformed' },
        { name: 'short payload', frames: [header({}), chunks(state(v1.values))[0]], reason: 'bad-payload' },
        { name: 'delta chain bigger than a state', frames: [header({ kind: 'deltas', bytes: 8 * TEST_N, steps: [{ codec: 'raw', base: v0.hash, hash: v1.hash, bytes: 8 * TEST_N }] })], reason: 'oversize' },
        { name: 'forged delta', frames: [header({ kind: 'deltas', bytes: corrupt.byteLength, steps: plan.kind === 'deltas' ? plan.steps : [] }), ...chunks(corrupt)], reason: 'hash-mismatch' },
      ];
      let current: Uint8Array[] = [];
      await rogue.handle(BLOB_PROTOCOL, async ({ stream }) => {
        for await (const _ of readFrames(stream.source, 1 << 16)) break;
        await stream.sink(current).catch(() => undefined);
      });
      await v.dial(rogue.getMultiaddrs()[0].toString());
      // The honest path through the same rogue server works: V stores v0.
      current = [header({ hash: v0.hash }), ...chunks(state(v0.values))];
      await v.fetch(rogue.peerId.toString(), { seq: 0, hash: v0.hash, parent: null });
      expect(v.replicas.latest(rogue.peerId.toString())?.hash).toBe(v0.hash);
      for (const sc of scenarios) {
        current = sc.frames;
        const before = await rejectCount(v, sc.reason);
        await expect(v.fetch(rogue.peerId.toString(), { seq: 1, hash: v1.hash, parent: v0.hash }), sc.name).rejects.toThrow();
        expect(await rejectCount(v, sc.reason), sc.name).toBe(before + 1);
        // Nothing stored: the replica is still v0, bit for bit.
        const held = v.replicas.latest(rogue.peerId.toString())!;
        expect(held.hash, sc.name).toBe(v0.hash);
        expect(stateHash(TEST_MODEL, held.values)).toBe(v0.hash);
      }
      expect(REJECT_REASONS).toEqual(expect.arrayContaining(scenarios.map((s) => s.reason)));
    } finally {
      await Promise.allSettled([v.stop(), rogue.stop()]);
    }
  });
});
