// Small clusters of real libp2p peers on 127.0.0.1 for tests (bounded in time, stopped by the caller).
import { createPeer, type MeshPeer, type PeerOptions } from '../../node/net/peer.js';

export const TEST_MODEL = { kind: 'mlp', input: [1, 28, 28], hidden: [64], classes: 10 } as const;
export const TEST_N = 784 * 64 + 64 + 64 * 10 + 10;

export async function waitFor(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const t0 = Date.now();
  while (!(await cond())) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** n peers in a line (0–1–2–…), each subscribed and seeing its neighbours on the topic. */
export async function line(n: number, opts: Partial<PeerOptions> & { run: string }, each?: (i: number) => Partial<PeerOptions>): Promise<MeshPeer[]> {
  const peers: MeshPeer[] = [];
  for (let i = 0; i < n; i++) peers.push(await createPeer({ model: TEST_MODEL, n: TEST_N, helloIntervalMs: 0, ...opts, ...(each?.(i) ?? {}) }));
  for (let i = 1; i < n; i++) await peers[i].dial(peers[i - 1].addresses()[0]);
  for (let i = 0; i < n; i++) {
    const nb = [peers[i - 1], peers[i + 1]].filter(Boolean).map((p) => p.id);
    await waitFor(`peer ${i} to see its neighbours subscribed`, () => nb.every((id) => peers[i].subscribers().includes(id)));
  }
  // Meshes form within a heartbeat or two.
  await new Promise((r) => setTimeout(r, 1500));
  return peers;
}

export const stopAll = (peers: ReadonlyArray<MeshPeer>) => Promise.allSettled(peers.map((p) => p.stop()));

/** How many messages `peer` rejected for `reason` (from its Prometheus counter). */
export async function rejectCount(peer: MeshPeer, reason: string): Promise<number> {
  return (await peer.metrics.rejects.get()).values.find((v) => v.labels.reason === reason)?.value ?? 0;
}
