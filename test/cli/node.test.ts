// `mergemesh node`: two real peer processes on 127.0.0.1 find each other through a bootstrap
// address, train on their shards and exchange versions; the Prometheus endpoint serves our
// metrics and libp2p's; SIGTERM stops a peer cleanly; bad configurations get clear errors.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { frameOfSeed } from '../../node/agent/frame.js';
import { parseNodeConfig } from '../../node/net/config.js';
import { cli } from '../helpers/cli.js';

interface Proc {
  readonly child: ChildProcessWithoutNullStreams;
  readonly events: Array<Record<string, unknown>>;
  readonly stderr: string[];
  readonly exit: Promise<number | null>;
}

function startNodeProcess(config: string): Proc {
  const child = spawn(process.execPath, ['--import', 'tsx', 'node/cli/main.ts', 'node', '--config', config, '--json'], { stdio: 'pipe' });
  const events: Array<Record<string, unknown>> = [];
  const stderr: string[] = [];
  createInterface({ input: child.stdout }).on('line', (l) => events.push(JSON.parse(l) as Record<string, unknown>));
  createInterface({ input: child.stderr }).on('line', (l) => stderr.push(l));
  // 'close', not 'exit': it comes after stdout has been read to the end.
  const exit = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
  return { child, events, stderr, exit };
}

async function until<T>(what: string, f: () => T | undefined, timeoutMs = 60_000): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = f();
    if (v !== undefined && v !== false) return v;
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const MODEL = { kind: 'mlp', input: [1, 28, 28], hidden: [32], classes: 10 };

describe('mergemesh node', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mergemesh-node-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const config = (name: string, extra: Record<string, unknown>) => ({
    run: 'node-test',
    identity: `${name}.key.json`,
    listen: ['/ip4/127.0.0.1/tcp/0'],
    store: `${name}-store`,
    metrics: { listen: '127.0.0.1:0' },
    model: MODEL,
    data: { shards: 2, samples: 1000, test_samples: 500 },
    log: `${name}.jsonl`,
    ...extra,
  });

  it('two peers exchange versions, serve /metrics, and stop cleanly on SIGTERM', async () => {
    await writeFile(join(dir, 'a.json'), JSON.stringify(config('a', { data: { shard: 0, shards: 2, samples: 1000, test_samples: 500 }, train: { rounds: 0 } })));
    const a = startNodeProcess(join(dir, 'a.json'));
    let b: Proc | undefined;
    try {
      const hello = await until('A listening', () => a.events.find((e) => e.event === 'listening'));
      const addr = (hello.addresses as string[])[0];
      await writeFile(join(dir, 'b.json'), JSON.stringify(config('b', { bootstrap: [addr], data: { shard: 1, shards: 2, samples: 1000, test_samples: 500 }, train: { rounds: 4 }, linger_s: 2 })));
      b = startNodeProcess(join(dir, 'b.json'));
      const bHello = await until('B listening', () => b!.events.find((e) => e.event === 'listening'));
      // Each holds versions of the other.
      await until('B to receive A', () => b!.events.find((e) => e.event === 'version' && e.peer === hello.peer_id));
      await until('A to receive B', () => a.events.find((e) => e.event === 'version' && e.peer === bHello.peer_id));
      expect(await b.exit).toBe(0);
      const bRounds = b.events.filter((e) => e.event === 'round');
      expect(bRounds.map((e) => e.round)).toEqual([1, 2, 3, 4]);
      expect(bRounds[3].test_accuracy as number).toBeGreaterThan(0.5);
      // The agent loop: once A holds B's version, A merges with it after its next round
      // (both started from seed 0, so they share that seed's frame and average).
      const merge = await until('A to merge with B', () => a.events.find((e) => e.event === 'round' && (e.merged_with as string[]).includes(bHello.peer_id as string)));
      expect(merge.merged_accuracy as number).toBeGreaterThan(0.5);
      expect(merge.frame).toBe(frameOfSeed(0));
      expect(b.events[b.events.length - 1]).toMatchObject({ event: 'stopped', rounds: 4 });

      // The metrics endpoint: ours and libp2p's, in Prometheus text.
      const res = await fetch(hello.metrics as string);
      expect(res.status).toBe(200);
      const text = await res.text();
      expect(text).toMatch(/^mergemesh_versions_sent_total \d+/m);
      expect(Number(/^mergemesh_versions_received_total (\d+)/m.exec(text)?.[1])).toBeGreaterThan(0);
      expect(text).toMatch(/^mergemesh_bytes_total\{direction="out",type="announce"\} \d+/m);
      expect(text).toMatch(/^mergemesh_rejects_total\{reason="oversize"\} 0/m);
      expect(text).toMatch(/^mergemesh_replica_staleness_seconds\{peer="/m);
      expect(text).toMatch(/^mergemesh_test_accuracy /m);
      expect(text).toMatch(/^libp2p_/m);
      expect((await fetch(String(hello.metrics).replace('/metrics', '/other'))).status).toBe(404);

      a.child.kill('SIGTERM');
      expect(await a.exit).toBe(0);
      expect(a.events[a.events.length - 1]).toMatchObject({ event: 'stopped', reason: 'SIGTERM' });
      // The event log mirrors the events, with timestamps.
      const log = (await readFile(join(dir, 'a.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(log.length).toBe(a.events.length);
      expect(typeof log[0].t).toBe('string');

      // Restarted with the same identity file, A keeps its peer id and restores B's replica.
      await writeFile(join(dir, 'a.json'), JSON.stringify(config('a', { data: { shard: 0, shards: 2, samples: 1000, test_samples: 500 }, train: { rounds: 1 }, linger_s: 0 })));
      const again = startNodeProcess(join(dir, 'a.json'));
      expect(await again.exit).toBe(0);
      const h2 = again.events.find((e) => e.event === 'listening')!;
      expect(h2.peer_id).toBe(hello.peer_id);
      expect(h2.identity_created).toBe(false);
      expect(h2.restored).toEqual([bHello.peer_id]);
    } finally {
      a.child.kill('SIGKILL');
      b?.child.kill('SIGKILL');
    }
  });

  it('reports configuration mistakes clearly, without a stack trace', async () => {
    const cases: Array<[unknown, RegExp]> = [
      [{ run: 'x', trian: {} }, /Unrecognized key: "trian"/],
      [{ run: 'bad run!' }, /run: must be 1–64 characters/],
      [{ run: 'x', data: { shard: 3, shards: 2 } }, /data\.shard: shard must be less than shards/],
      [{ run: 'x', train: { lr: -1, batch: 0 } }, /train\.lr: .*\n.*train\.batch/],
      [{ run: 'x', train: { init_scheme: 'xavier' } }, /train\.init_scheme: .*"torch"\|"he"/],
      [{ run: 'x', bootstrap: ['/ip4/1.2.3.4/tcp/1'] }, /bootstrap\.0: a bootstrap address must end in \/p2p\/<peer id>/],
      [{ run: 'x', listen: ['not an address'] }, /listen\.0: not a listen multiaddr/],
      [{ run: 'x', model: { kind: 'mlp', input: [1, 28, 28], hidden: [0], classes: 10 } }, /model: invalid model definition: mlp\.hidden/],
      [{ run: 'x', metrics: { listen: 'localhost' } }, /metrics\.listen: must be host:port/],
      [{ run: 'x', psk: 'missing.key', identity: 'p.key.json', metrics: false }, /cannot read the private-network key/],
    ];
    for (const [cfg, pattern] of cases.slice(0, -1)) expect(() => parseNodeConfig(cfg, dir, 'peer.json'), JSON.stringify(cfg)).toThrow(pattern);
    // Through the command: exit code 2 and one clear message, for schema and start-up errors.
    for (const [i, [cfg, pattern]] of [cases[0], cases[cases.length - 1]].entries()) {
      const file = join(dir, `bad${i}.json`);
      await writeFile(file, JSON.stringify(cfg));
      const r = cli(['node', '--config', file]);
      expect(r.code, JSON.stringify(cfg)).toBe(2);
      expect(r.stderr, JSON.stringify(cfg)).toMatch(pattern);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
    await writeFile(join(dir, 'notjson.json'), '{ run: x');
    const r = cli(['node', '--config', join(dir, 'notjson.json')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/is not JSON/);
    expect(cli(['node', '--config', join(dir, 'absent.json')]).stderr).toMatch(/cannot read configuration .*no such file/);
    // --print-config shows every default.
    await writeFile(join(dir, 'min.json'), JSON.stringify({ run: 'x' }));
    const p = cli(['node', '--config', join(dir, 'min.json'), '--print-config']);
    expect(p.code).toBe(0);
    const full = JSON.parse(p.stdout) as Record<string, Record<string, unknown>>;
    expect(full.train).toMatchObject({ optimizer: 'adam', batch: 64, epochs_per_round: 1, rounds: 0 });
    expect(full.data).toMatchObject({ dataset: 'mnist', partition: { kind: 'iid' }, shard: 0, shards: 1 });
    expect(full.codec).toBe('int8');
  });
});
