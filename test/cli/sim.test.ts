// `mergemesh sim` and `mergemesh report` as a user runs them.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli } from '../helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'mergemesh-sim-'));
const SMALL = ['--set', 'agents=3', '--set', 'rounds=2', '--set', 'data.samples_per_agent=400', '--set', 'data.test_samples=300', '--set', 'model={"kind":"mlp","input":[1,28,28],"hidden":[32],"classes":10}'];

describe('mergemesh sim', () => {
  const log = join(dir, 'run.jsonl');
  const run = cli(['sim', ...SMALL, '--json', '--log', log]);

  it('--json: the last stdout line is the summary object; the table and outcome go to stderr', () => {
    expect(run.code, run.stderr).toBe(0);
    const lines = run.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const out = JSON.parse(lines[0]);
    expect(out.final_mean_accuracy).toBeGreaterThan(0.5);
    expect(out.wall_s).toBeGreaterThan(0);
    expect(out.rounds).toHaveLength(3);
    for (const r of out.rounds) for (const k of ['round', 'mean_accuracy', 'min_accuracy', 'consensus_distance', 'bytes_sent']) expect(typeof r[k], k).toBe('number');
    expect(out.final_mean_accuracy).toBe(out.rounds[2].mean_accuracy);
    expect(run.stderr).toMatch(/round\s+mean acc/);
    expect(run.stderr).toMatch(/3 agents on a ring ran 2 round\(s\)/);
  });

  it('writes a JSONL log that mergemesh report turns into a self-contained HTML page', () => {
    const events = readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(events[0].event).toBe('start');
    expect(events.at(-1).event).toBe('end');
    expect(events.filter((e) => e.event === 'agent_round')).toHaveLength(9);
    const html = join(dir, 'report.html');
    const r = cli(['report', log, '-o', html]);
    expect(r.code, r.stderr).toBe(0);
    const page = readFileSync(html, 'utf8');
    // Offline: uPlot inlined, no external script, stylesheet or image.
    expect(page).toContain('uPlot');
    expect(page).not.toMatch(/<script[^>]+src=|<link[^>]+href=|<img[^>]+src="http/);
    for (const title of ['Test accuracy', 'Test loss', 'Consensus distance', 'Bytes on the wire', 'Time per round']) expect(page).toContain(title);
  });

  it('a human run prints the table on stdout with a plain-language outcome', () => {
    const r = cli(['sim', ...SMALL, '--set', 'rounds=1', '--no-log', '--quiet']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/round\s+mean acc\s+min\s+max/);
    expect(r.stdout).toMatch(/mean test accuracy [\d.]+% after pretraining → [\d.]+% after the last merge/);
    expect(r.stdout).toMatch(/Consensus distance/);
  });

  it('user mistakes are one clear line and exit code 2', () => {
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ agents: -1, topology: { kind: 'ring', extra: 1 } }));
    for (const [args, msg] of [
      [['sim', bad], /agents[\s\S]*topology/],
      [['sim', '--set', 'topology.kind=hypercube'], /topology\.kind/],
      [['sim', '--set', 'agents'], /expected path=value/],
      [['sim', join(dir, 'missing.json')], /no such file/],
      [['sim', '--set', 'agents=5', '--set', 'topology={"kind":"random-regular","degree":3}', '--no-log'], /even/],
      [['report', join(dir, 'missing.jsonl')], /no such file/],
      [['report', bad], /not a mergemesh/],
    ] as const) {
      const r = cli([...args]);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toMatch(msg);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
  });

  it('--print-scenario prints every field with its default', () => {
    const r = cli(['sim', '--print-scenario', '--set', 'agents=5']);
    expect(r.code).toBe(0);
    const s = JSON.parse(r.stdout);
    expect(s.agents).toBe(5);
    expect(s.network).toMatchObject({ transport: 'virtual', latency_ms: 20, bandwidth_mbps: 100 });
  });
});
