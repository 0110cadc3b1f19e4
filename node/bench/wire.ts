// Wire figures: bytes per version of each delta codec on a trained MLP's successive versions,
// blob throughput between two processes on loopback (against a plain TCP socket moving the
// same bytes between the same processes), and announcement latency across 3 hops.
import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { subset } from '../data/dataset.js';
import { loadDataset } from '../data/load.js';
import { createModel } from '../model/model.js';
import { createPeer, type MeshPeer } from '../net/peer.js';
import { createRuntime } from '../tensor/runtime/pool.js';
import { optimizerConfig } from '../train/optimizer.js';
import { createTrainer } from '../train/trainer.js';
import { createRng } from '../util/rng.js';
import { CODECS, CODEC_NAMES, type CodecName } from '../../protocol/codecs/index.js';
import { createPublisher } from '../../protocol/versions.js';
import { median, round } from './stats.js';
import type { WireServerInfo } from './wire-server.js';

export type WireBenchLine =
  | {
      bench: 'codec';
      codec: CodecName;
      model: string;
      params: number;
      versions: number;
      ratio: number;
      bytes_per_version: number;
      encode_ms: number;
      max_abs_error: number;
      rel_error: number;
    }
  | { bench: 'blob'; mb: number; mb_per_s: number; runs: number[]; tcp_reference_mb_per_s: number }
  | { bench: 'latency'; hops: number; ms: number; p90_ms: number; runs: number };

const MLP = { kind: 'mlp', input: [1, 28, 28], hidden: [512, 512], classes: 10 } as const;

/** Successive versions of a 784-512-512-10 MLP: one pass over a 6,000-sample shard each. */
async function trainedVersions(count: number, onStatus?: (s: string) => void): Promise<Float32Array[]> {
  const model = createModel(MLP);
  const rt = createRuntime({ intraOpThreads: 1 });
  const trainer = createTrainer({ runtime: rt, model, optimizer: optimizerConfig('adam'), batch: 128 }, model.init(0));
  const train = loadDataset('mnist', 'train');
  const idx = Int32Array.from({ length: train.count }, (_, i) => i);
  createRng(1).shuffle(idx);
  const shard = subset(train, idx.subarray(0, 6000));
  const all = Int32Array.from({ length: shard.count }, (_, i) => i);
  const rng = createRng(2);
  const versions = [model.init(0)];
  try {
    for (let v = 1; v < count; v++) {
      onStatus?.(`training version ${v}/${count - 1} for the codec figures`);
      await trainer.trainEpoch(shard, all, rng);
      versions.push(trainer.state.weights.slice());
    }
  } finally {
    await trainer.dispose();
    await rt.close();
  }
  return versions;
}

export async function benchCodecs(versionsCount = 11, onStatus?: (s: string) => void): Promise<WireBenchLine[]> {
  const versions = await trainedVersions(versionsCount, onStatus);
  const n = versions[0].length;
  const out: WireBenchLine[] = [];
  for (const codec of CODEC_NAMES) {
    // Large inline limit: every delta is measured as the codec encodes it.
    const pub = createPublisher({ run: 'bench', model: MLP, codec, limits: { maxGossipBytes: 1 << 30, inlineDeltaBytes: 1 << 30, maxChunkBytes: 1 << 20, maxParams: 1 << 27, maxRequestBytes: 1 << 16 } });
    pub.publish(versions[0]);
    let bytes = 0;
    let ms = 0;
    let maxErr = 0;
    for (const v of versions.slice(1)) {
      const t0 = performance.now();
      const p = pub.publish(v);
      ms += performance.now() - t0;
      bytes += p.announce.delta!.payload.byteLength;
      maxErr = Math.max(maxErr, p.error);
    }
    // How far the receivers' copy is from the sender's model, relative to how far it moved.
    const last = versions[versions.length - 1];
    const pubLast = pub.head()!.values;
    let e2 = 0;
    let d2 = 0;
    for (let i = 0; i < n; i++) {
      e2 += (last[i] - pubLast[i]) ** 2;
      d2 += (last[i] - versions[0][i]) ** 2;
    }
    const per = bytes / (versions.length - 1);
    out.push({
      bench: 'codec',
      codec,
      model: 'mlp 784-512-512-10',
      params: n,
      versions: versions.length - 1,
      ratio: round(per / (4 * n), 4),
      bytes_per_version: Math.round(per),
      encode_ms: round(ms / (versions.length - 1), 1),
      max_abs_error: Number(maxErr.toPrecision(3)),
      rel_error: Number(Math.sqrt(e2 / d2).toPrecision(3)),
    });
    if (CODECS[codec].lossless && maxErr !== 0) throw new Error(`${codec} is lossless but drifted by ${maxErr}`);
  }
  return out;
}

function serverEntry(): { cmd: string; args: string[] } {
  const here = fileURLToPath(import.meta.url);
  // From the TypeScript sources (tests, tsx) the server runs through tsx as well.
  if (here.endsWith('.ts')) return { cmd: process.execPath, args: ['--import', 'tsx', here.replace(/wire\.ts$/, 'wire-server.ts')] };
  return { cmd: process.execPath, args: [here.replace(/wire\.js$/, 'wire-server.js')] };
}

async function tcpReference(port: number, expected: number): Promise<number> {
  const t0 = performance.now();
  let got = 0;
  await new Promise<void>((resolve, reject) => {
    const s = connect(port, '127.0.0.1');
    s.on('data', (d: Buffer) => (got += d.byteLength));
    s.on('end', resolve);
    s.on('error', reject);
  });
  if (got !== expected) throw new Error(`tcp reference: ${got} of ${expected} bytes`);
  return performance.now() - t0;
}

/** Pulls one ~15 MB version from a peer in another process, several times. */
export async function benchBlob(reps = 5, onStatus?: (s: string) => void): Promise<WireBenchLine> {
  const def = { kind: 'mlp', input: [1, 28, 28], hidden: [2048, 1024], classes: 10 };
  const n = 784 * 2048 + 2048 + 2048 * 1024 + 1024 + 1024 * 10 + 10;
  const { cmd, args } = serverEntry();
  const child = spawn(cmd, [...args, JSON.stringify(def), String(n)], { stdio: ['pipe', 'pipe', 'inherit'] });
  const clients: MeshPeer[] = [];
  try {
    const info = await new Promise<WireServerInfo>((resolve, reject) => {
      createInterface({ input: child.stdout }).once('line', (l) => resolve(JSON.parse(l) as WireServerInfo));
      child.once('exit', (code) => reject(new Error(`wire server exited with code ${code}`)));
    });
    const runs: number[] = [];
    const tcp: number[] = [];
    for (let r = 0; r < reps + 1; r++) {
      onStatus?.(`blob transfer ${r + 1}/${reps + 1}`);
      // A fresh peer each time: one that holds the version already would not pull it again.
      // It follows nobody, so nothing is pulled before the timed fetch asks.
      const client = await createPeer({ run: 'bench-wire', model: def, n, helloIntervalMs: 0, fetchTimeoutMs: 120_000, follow: () => false });
      clients.push(client);
      await client.dial(info.addr);
      const t0 = performance.now();
      await client.fetch(info.peer, { seq: info.seq, hash: info.hash, parent: null });
      const ms = performance.now() - t0;
      const received = client.bytes().in.get('blob') ?? 0;
      if (received < 4 * n) throw new Error(`blob bench: ${received} bytes pulled for a ${4 * n}-byte version`);
      await client.stop();
      const tms = await tcpReference(info.tcp_port, 4 * n);
      // The first transfer warms up the JIT; it is not counted.
      if (r > 0) {
        runs.push(ms);
        tcp.push(tms);
      }
    }
    const mb = (4 * n) / 1e6;
    return { bench: 'blob', mb: round(mb, 1), mb_per_s: round(mb / (median(runs) / 1000), 1), runs: runs.map((x) => round(x, 1)), tcp_reference_mb_per_s: round(mb / (median(tcp) / 1000), 1) };
  } finally {
    await Promise.allSettled(clients.map((c) => c.stop()));
    child.stdin.end();
    await new Promise((r) => (child.exitCode !== null ? r(undefined) : child.once('exit', r)));
  }
}

/** From publish at one end of a 4-peer line to the verified replica at the other end. */
export async function benchLatency(reps = 20, onStatus?: (s: string) => void): Promise<WireBenchLine> {
  const def = { kind: 'mlp', input: [1, 28, 28], hidden: [64], classes: 10 };
  const n = 784 * 64 + 64 + 64 * 10 + 10;
  const peers: MeshPeer[] = [];
  try {
    for (let i = 0; i < 4; i++) peers.push(await createPeer({ run: 'bench-latency', model: def, n, helloIntervalMs: 0, acks: false }));
    for (let i = 1; i < 4; i++) await peers[i].dial(peers[i - 1].addresses()[0]);
    const t0 = Date.now();
    while (!peers.every((p, i) => [peers[i - 1], peers[i + 1]].filter(Boolean).every((q) => p.subscribers().includes(q!.id)))) {
      if (Date.now() - t0 > 20_000) throw new Error('latency bench: the line did not form');
      await new Promise((r) => setTimeout(r, 20));
    }
    await new Promise((r) => setTimeout(r, 1500));
    const rng = createRng(3);
    const x = Float32Array.from({ length: n }, () => rng.normal() * 0.05);
    const times: number[] = [];
    const far = peers[3];
    for (let r = 0; r <= reps; r++) {
      onStatus?.(`announcement ${r + 1}/${reps + 1}`);
      for (let i = 0; i < n; i++) x[i] += rng.normal() * 1e-3;
      let start = 0;
      const arrived = new Promise<number>((resolve) => {
        const off = far.onVersion((e) => {
          if (e.peer !== peers[0].id) return;
          off();
          resolve(performance.now() - start);
        });
      });
      start = performance.now();
      await peers[0].publish(x);
      const ms = await Promise.race([arrived, new Promise<number>((_, reject) => setTimeout(() => reject(new Error('latency bench: an announcement did not arrive')), 30_000))]);
      // The first version travels as a full state by pull; the rest inline, as in a run.
      if (r > 0) times.push(ms);
      await new Promise((res) => setTimeout(res, 30));
    }
    const sorted = [...times].sort((a, b) => a - b);
    return { bench: 'latency', hops: 3, ms: round(median(times), 1), p90_ms: round(sorted[Math.floor(0.9 * (sorted.length - 1))], 1), runs: times.length };
  } finally {
    await Promise.allSettled(peers.map((p) => p.stop()));
  }
}
