// Peers over TCP on 127.0.0.1 exchange versions: every receiver's replica hash equals the
// announced hash after a full state and after a chain of deltas, for every codec.
import { describe, expect, it } from 'vitest';
import { CODECS, CODEC_NAMES } from '../../protocol/codecs/index.js';
import type { MeshPeer, VersionEvent } from '../../node/net/peer.js';
import { createRng } from '../../node/util/rng.js';
import { line, rejectCount, stopAll, TEST_N, waitFor } from '../helpers/mesh.js';

describe.each(CODEC_NAMES)('version exchange with the %s codec', (codec) => {
  it('4 peers in a line: replicas track a 50-version chain, hash for hash', async () => {
    const peers = await line(4, { run: `exchange-${codec}`, codec });
    try {
      const via = new Map<string, VersionEvent['via'][]>();
      for (const p of peers.slice(1)) p.onVersion((e) => via.set(p.id, [...(via.get(p.id) ?? []), e.via]));
      const rng = createRng(1);
      const x = Float32Array.from({ length: TEST_N }, () => rng.normal() * 0.05);
      let maxErr = 0;
      for (let v = 0; v <= 50; v++) {
        if (v > 0) for (let i = 0; i < TEST_N; i++) x[i] += rng.normal() * 1e-3;
        const pub = await peers[0].publish(x, { round: v });
        maxErr = Math.max(maxErr, pub.error);
        if (CODECS[codec].lossless) expect(pub.error).toBe(0);
        // Every receiver, even three hops away, ends up holding exactly the announced version.
        await waitFor(`version ${v} everywhere`, () => peers.slice(1).every((p) => p.replicas.latest(peers[0].id)?.hash === pub.version.hash));
        for (const p of peers.slice(1)) {
          const r = p.replicas.latest(peers[0].id)!;
          expect(Buffer.compare(Buffer.from(r.values.buffer), Buffer.from(pub.version.values.buffer))).toBe(0);
          expect(r.metrics).toEqual({ round: v });
        }
      }
      // Deltas travelled inline (no pulls needed); the first version is pulled as a full state.
      await waitFor('every version event', () => peers.slice(1).every((p) => via.get(p.id)?.length === 51));
      for (const p of peers.slice(1)) {
        const kinds = via.get(p.id)!;
        expect(kinds[0]).toBe('state');
        expect(kinds.slice(1).every((k) => k === 'inline')).toBe(true);
      }
      // Error feedback: the lossy public copy stays within a bound of the private model.
      if (!CODECS[codec].lossless) expect(maxErr).toBeLessThan(codec === 'topk' ? 0.02 : 1e-3);
      expect((await peers[0].metrics.versionsSent.get()).values[0].value).toBe(51);
      // Receivers acknowledged what they hold.
      await waitFor('acks', () => peers[0].acks().get(peers[1].id) === peers[0].replicas.latest(peers[0].id)?.hash || peers[0].acks().size > 0);
    } finally {
      await stopAll(peers);
    }
  });
});

describe('large deltas', () => {
  it('over the inline limit travel by hash on the blob protocol', async () => {
    const peers: MeshPeer[] = await line(3, { run: 'blob-path', codec: 'int8', limits: { maxGossipBytes: 1 << 20, inlineDeltaBytes: 1024, maxChunkBytes: 16 * 1024, maxParams: 1 << 27, maxRequestBytes: 64 * 1024 } });
    try {
      const via = [[], [], []] as VersionEvent['via'][][];
      for (const i of [1, 2]) peers[i].onVersion((e) => via[i].push(e.via));
      const x = new Float32Array(TEST_N).fill(0.5);
      for (let v = 0; v < 5; v++) {
        x[v] += 1;
        const pub = await peers[0].publish(x);
        await waitFor(`version ${v}`, () => peers.slice(1).every((p) => p.replicas.latest(peers[0].id)?.hash === pub.version.hash));
      }
      await waitFor('every version event', () => via[1].length === 5 && via[2].length === 5);
      // Later versions come as delta chains from the base the puller holds, not full states,
      // from the author and, two hops away, relayed by the neighbour that holds them.
      for (const i of [1, 2]) {
        expect(via[i][0]).toBe('state');
        expect(via[i].slice(1)).toEqual(['deltas', 'deltas', 'deltas', 'deltas']);
      }
    } finally {
      await stopAll(peers);
    }
  });
});

describe('a ring of 6 peers, all publishing at once', () => {
  it('every peer ends holding every other peer\'s latest version, hash for hash', async () => {
    const peers = await line(6, { run: 'ring-6', codec: 'int8' });
    try {
      // Close the ring: 5 – 0.
      await peers[0].dial(peers[5].addresses()[0]);
      await waitFor('ring', () => peers[0].subscribers().includes(peers[5].id) && peers[5].subscribers().includes(peers[0].id));
      const rng = createRng(4);
      const xs = peers.map(() => Float32Array.from({ length: TEST_N }, () => rng.normal() * 0.05));
      const heads = new Map<string, string>();
      for (let v = 0; v < 10; v++) {
        await Promise.all(
          peers.map(async (p, i) => {
            for (let j = 0; j < TEST_N; j += 7) xs[i][j] += rng.normal() * 1e-3;
            heads.set(p.id, (await p.publish(xs[i])).version.hash);
          }),
        );
        await new Promise((r) => setTimeout(r, 50));
      }
      await waitFor('all replicas current', () => peers.every((p) => peers.every((q) => q === p || p.replicas.latest(q.id)?.hash === heads.get(q.id))), 30_000);
      for (const p of peers) expect(await rejectCount(p, 'hash-mismatch')).toBe(0);
    } finally {
      await stopAll(peers);
    }
  });
});
