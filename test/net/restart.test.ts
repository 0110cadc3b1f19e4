// A peer that is stopped and restarted (same identity file, same replica store) resumes from
// what it held: it re-downloads nothing it has, and catches up on what it missed with the
// deltas from its held version rather than a full state.
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadOrCreateIdentity } from '../../node/net/identity.js';
import { createPeer, type MeshPeer, type VersionEvent } from '../../node/net/peer.js';
import { createRng } from '../../node/util/rng.js';
import { stopAll, TEST_MODEL, TEST_N, waitFor } from '../helpers/mesh.js';

const blobBytesIn = async (p: MeshPeer) => (await p.metrics.bytes.get()).values.find((v) => v.labels.direction === 'in' && v.labels.type === 'blob')?.value ?? 0;

describe('restart', () => {
  it('resyncs by hash without re-downloading what it already has', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mergemesh-restart-'));
    const run = 'restart';
    const rng = createRng(11);
    const x = Float32Array.from({ length: TEST_N }, () => rng.normal() * 0.05);
    const step = () => {
      for (let i = 0; i < TEST_N; i++) x[i] += rng.normal() * 1e-3;
    };
    const a = await createPeer({ run, model: TEST_MODEL, n: TEST_N, codec: 'int8', helloIntervalMs: 0 });
    const startB = async () => {
      const { key } = await loadOrCreateIdentity(join(dir, 'key.json'));
      const b = await createPeer({ run, model: TEST_MODEL, n: TEST_N, privateKey: key, storeDir: join(dir, 'store'), helloIntervalMs: 0 });
      const via: VersionEvent['via'][] = [];
      b.onVersion((e) => via.push(e.via));
      return { b, via };
    };
    let b: MeshPeer | undefined;
    try {
      let s = await startB();
      b = s.b;
      const id = b.id;
      await b.dial(a.addresses()[0]);
      await waitFor('subscription', () => a.subscribers().includes(id) && b!.subscribers().includes(a.id));
      await new Promise((r) => setTimeout(r, 1200));
      let last;
      for (let v = 0; v < 4; v++) {
        if (v) step();
        last = await a.publish(x);
        await waitFor(`v${v}`, () => b!.replicas.latest(a.id)?.hash === last!.version.hash);
      }
      await b.stop();

      // 1. Nothing new while it was away: the restored replica is current, nothing is fetched.
      s = await startB();
      b = s.b;
      expect(b.id).toBe(id);
      expect(b.replicas.latest(a.id)?.hash).toBe(last!.version.hash);
      await b.dial(a.addresses()[0]);
      await waitFor('A to greet B', () => a.subscribers().includes(id));
      await new Promise((r) => setTimeout(r, 1500));
      expect(await blobBytesIn(b)).toBe(0);
      expect(s.via).toEqual([]);
      // B told A what it holds ("have").
      await waitFor('have', async () => ((await a.metrics.bytes.get()).values.find((v) => v.labels.type === 'have')?.value ?? 0) > 0);
      expect(a.acks().get(id)).toBe(last!.version.hash);
      await b.stop();

      // 2. Two versions published while it was away: it catches up with two deltas.
      step();
      await a.publish(x);
      step();
      const head = await a.publish(x);
      s = await startB();
      b = s.b;
      await b.dial(a.addresses()[0]);
      await waitFor('catch-up', () => s.via.length > 0 && b!.replicas.latest(a.id)?.hash === head.version.hash);
      expect(s.via).toEqual(['deltas']);
      const bytes = await blobBytesIn(b);
      expect(bytes).toBeGreaterThan(0);
      // Two int8 deltas: about half a full state's bytes, far from a re-download.
      expect(bytes).toBeLessThan(0.6 * 4 * TEST_N);
      expect(Buffer.compare(Buffer.from(b.replicas.latest(a.id)!.values.buffer), Buffer.from(head.version.values.buffer))).toBe(0);
      // The store keeps one state file per held replica.
      expect(await readdir(join(dir, 'store', 'states'))).toEqual([`${head.version.hash}.f32`]);
    } finally {
      await stopAll([a, ...(b ? [b] : [])]);
      await rm(dir, { recursive: true, force: true });
    }
  });
});
