// The latest verified version of each neighbour, optionally persisted content-addressed on
// disk so a restarted peer resumes from what it held instead of downloading it again.
import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, rename, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stateHash } from '../../protocol/hash.js';
import { planChain, type ChainLink, type ResponsePlan, type Version } from '../../protocol/versions.js';

export interface Replica extends Version {
  readonly peer: string;
  /** Wall-clock time (ms) the replica was stored. */
  readonly updated: number;
  readonly metrics?: Readonly<Record<string, number>>;
}

export interface ReplicaStore {
  latest(peer: string): Replica | undefined;
  peers(): string[];
  /** Any held version by hash. */
  byHash(hash: string): Version | undefined;
  /**
   * Stores `peer`'s newest version; `links` are the deltas it arrived by, kept (in memory) so
   * this peer can relay them to neighbours that hold an older version.
   */
  set(peer: string, version: Version, metrics?: Readonly<Record<string, number>>, links?: ReadonlyArray<ChainLink>): Promise<void>;
  /** How to serve a held latest version to a requester holding any of `bases`. */
  plan(hash: string, bases: ReadonlyArray<string>): ResponsePlan | undefined;
  /** Loads what a previous run persisted (verifying every hash); returns the peers restored. */
  restore(): Promise<string[]>;
}

interface IndexFile {
  readonly format: 1;
  readonly model: string;
  readonly peers: Record<string, { seq: number; hash: string; parent: string | null; metrics?: Record<string, number> }>;
}

export function createReplicaStore(opts: { model: unknown; modelHash: string; n: number; dir?: string; history?: number }): ReplicaStore {
  const latest = new Map<string, Replica>();
  const chains = new Map<string, ChainLink[]>();
  const keep = opts.history ?? 8;
  const states = opts.dir ? join(opts.dir, 'states') : undefined;
  const indexPath = opts.dir ? join(opts.dir, 'replicas.json') : undefined;
  let writing: Promise<void> = Promise.resolve();

  const persist = async (old?: Replica) => {
    if (!opts.dir || !states || !indexPath) return;
    const index: IndexFile = {
      format: 1,
      model: opts.modelHash,
      peers: Object.fromEntries([...latest].map(([p, r]) => [p, { seq: r.seq, hash: r.hash, parent: r.parent, ...(r.metrics ? { metrics: { ...r.metrics } } : {}) }])),
    };
    // Write-then-rename keeps the index whole if the process dies mid-write.
    await writeFile(`${indexPath}.tmp`, JSON.stringify(index));
    await rename(`${indexPath}.tmp`, indexPath);
    if (old && ![...latest.values()].some((r) => r.hash === old.hash)) await unlink(join(states, `${old.hash}.f32`)).catch(() => undefined);
  };

  return {
    latest: (peer) => latest.get(peer),
    peers: () => [...latest.keys()],
    byHash(hash) {
      for (const r of latest.values()) if (r.hash === hash) return r;
      return undefined;
    },
    plan(hash, bases) {
      for (const [peer, r] of latest) if (r.hash === hash) return planChain(chains.get(peer) ?? [r], r, bases);
      return undefined;
    },
    async set(peer, version, metrics, links) {
      if (version.values.length !== opts.n) throw new Error(`replica of ${peer}: ${version.values.length} values, the model has ${opts.n}`);
      const old = latest.get(peer);
      latest.set(peer, { ...version, peer, updated: Date.now(), metrics });
      // The chain continues when the links start from what was held; otherwise it restarts.
      const tip: ChainLink = { hash: version.hash, parent: version.parent };
      let chain: ChainLink[];
      if (!links?.length || links[links.length - 1].hash !== version.hash) chain = [tip];
      else if (old && links[0].parent === old.hash) chain = [...(chains.get(peer) ?? [{ hash: old.hash, parent: old.parent }]), ...links];
      else chain = [{ hash: links[0].parent ?? '', parent: null }, ...links];
      chains.set(peer, chain.slice(-keep));
      if (!states) return;
      const file = join(states, `${version.hash}.f32`);
      writing = writing.then(async () => {
        await mkdir(states, { recursive: true });
        if (!existsSync(file)) await writeFile(file, new Uint8Array(version.values.buffer, version.values.byteOffset, version.values.byteLength));
        await persist(old);
      });
      await writing;
    },
    async restore() {
      if (!opts.dir || !states || !indexPath || !existsSync(indexPath)) return [];
      let index: IndexFile;
      try {
        index = JSON.parse(await readFile(indexPath, 'utf8')) as IndexFile;
      } catch (e) {
        throw new Error(`replica index ${indexPath} is unreadable: ${(e as Error).message}`);
      }
      if (index.model !== opts.modelHash) throw new Error(`replica store ${opts.dir} belongs to another model (${index.model.slice(0, 12)}…)`);
      const restored: string[] = [];
      for (const [peer, e] of Object.entries(index.peers)) {
        const file = join(states, `${e.hash}.f32`);
        if (!existsSync(file)) continue;
        const bytes = await readFile(file);
        if (bytes.byteLength !== 4 * opts.n) continue;
        const values = new Float32Array(opts.n);
        new Uint8Array(values.buffer).set(bytes);
        // A corrupted or tampered file is skipped, never trusted.
        if (stateHash(opts.model, values) !== e.hash) continue;
        latest.set(peer, { seq: e.seq, hash: e.hash, parent: e.parent, values, peer, updated: Date.now(), metrics: e.metrics });
        chains.set(peer, [{ hash: e.hash, parent: e.parent }]);
        restored.push(peer);
      }
      // Drop state files no replica references any more.
      for (const f of await readdir(states).catch(() => [] as string[])) {
        if (f.endsWith('.f32') && ![...latest.values()].some((r) => `${r.hash}.f32` === f)) await unlink(join(states, f)).catch(() => undefined);
      }
      return restored;
    },
  };
}
