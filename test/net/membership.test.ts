// Run membership: a peer outside the run's allowlist cannot connect to members, and when a
// misconfigured member relays its messages anyway, members reject them (counted) and never
// merge or forward them. A private-network key keeps every outsider from even connecting.
import { generateKeyPair } from '@libp2p/crypto/keys';
import type { PrivateKey } from '@libp2p/interface';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { generateKey as generateSwarmKey } from '@libp2p/pnet';
import { describe, expect, it } from 'vitest';
import { createPeer, type MeshPeer } from '../../node/net/peer.js';
import { rejectCount, stopAll, TEST_MODEL, TEST_N, waitFor } from '../helpers/mesh.js';

const key = async () => (await generateKeyPair('Ed25519')) as unknown as PrivateKey;
const idOf = (k: PrivateKey) => peerIdFromPrivateKey(k as never).toString();
const values = (c: number) => new Float32Array(TEST_N).fill(c);

describe('run membership', () => {
  it('a non-member cannot connect, and its messages relayed by a misconfigured member are rejected, not merged, not forwarded', async () => {
    const keys = { a: await key(), c: await key(), m: await key(), x: await key() };
    const members = [idOf(keys.a), idOf(keys.c), idOf(keys.m)];
    const base = { run: 'members', model: TEST_MODEL, n: TEST_N, helloIntervalMs: 0 };
    const peers: MeshPeer[] = [];
    try {
      const a = await createPeer({ ...base, privateKey: keys.a, members });
      const c = await createPeer({ ...base, privateKey: keys.c, members });
      // M is a member that forgot its allowlist: it accepts anyone.
      const m = await createPeer({ ...base, privateKey: keys.m });
      const x = await createPeer({ ...base, privateKey: keys.x });
      peers.push(a, c, m, x);
      // X – M – A – C
      await c.dial(a.addresses()[0]);
      await m.dial(a.addresses()[0]);
      await x.dial(m.addresses()[0]);
      // The allowlist closes the door: A refuses X's connection once X's key is proven (the
      // dialer may briefly think it succeeded), and A never dials X.
      await x.dial(a.addresses()[0]).catch(() => undefined);
      await waitFor('X to be disconnected from A', () => !x.host.getPeers().some((p) => p.toString() === a.id));
      expect(a.host.getPeers().map(String)).not.toContain(x.id);
      await expect(a.dial(x.addresses()[0])).rejects.toThrow();
      await waitFor('topic peers', () => a.subscribers().includes(m.id) && a.subscribers().includes(c.id) && m.subscribers().includes(x.id));
      await new Promise((r) => setTimeout(r, 1500));

      // X publishes versions; M (no allowlist) takes them and forwards them to A.
      for (let v = 0; v < 3; v++) await x.publish(values(v));
      await waitFor('M to hold X', () => m.replicas.latest(x.id)?.seq === 2);
      await waitFor('A to reject X', async () => (await rejectCount(a, 'non-member')) >= 1);
      // Honest traffic still flows M → A → C, and after it nothing of X's has arrived.
      const honest = await m.publish(values(9));
      await waitFor('C to hold M', () => c.replicas.latest(m.id)?.hash === honest.version.hash);
      await new Promise((r) => setTimeout(r, 500));
      expect(a.replicas.latest(x.id)).toBeUndefined();
      expect(c.replicas.latest(x.id)).toBeUndefined();
      // A never forwarded: C saw no message from X at all (not even one to reject).
      expect(await rejectCount(c, 'non-member')).toBe(0);
      expect(await rejectCount(a, 'non-member')).toBeGreaterThanOrEqual(1);
      // A cannot be made to fetch X's states either: X is not a member.
      await expect(a.fetch(x.id, { seq: 2, hash: m.replicas.latest(x.id)!.hash, parent: null })).rejects.toThrow();
    } finally {
      await stopAll(peers);
    }
  });

  it('a private-network key keeps outsiders from connecting at all', async () => {
    const psk = new Uint8Array(95);
    generateSwarmKey(psk);
    const other = new Uint8Array(95);
    generateSwarmKey(other);
    const base = { run: 'pnet', model: TEST_MODEL, n: TEST_N, helloIntervalMs: 0 };
    const peers: MeshPeer[] = [];
    try {
      const a = await createPeer({ ...base, psk });
      const b = await createPeer({ ...base, psk });
      const wrongKey = await createPeer({ ...base, psk: other });
      const noKey = await createPeer(base);
      peers.push(a, b, wrongKey, noKey);
      await b.dial(a.addresses()[0]);
      // Without the key the handshake is noise to the other side: it never completes.
      await expect(wrongKey.dial(a.addresses()[0], 2000)).rejects.toThrow();
      await expect(noKey.dial(a.addresses()[0], 2000)).rejects.toThrow();
      await waitFor('topic peers', () => a.subscribers().includes(b.id));
      await new Promise((r) => setTimeout(r, 1000));
      const pub = await b.publish(values(1));
      await waitFor('A to hold B', () => a.replicas.latest(b.id)?.hash === pub.version.hash);
      expect(a.host.getPeers().map(String).sort()).toEqual([b.id]);
    } finally {
      await stopAll(peers);
    }
  });
});
