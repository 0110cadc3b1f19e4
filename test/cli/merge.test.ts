// `mergemesh merge` as a user runs it: JSON summary, written files, disjoint tasks, errors.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadModelFile } from '../../node/model/safetensors.js';
import { cli } from '../helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'mergemesh-merge-'));
const f = (name: string) => join(dir, name);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

beforeAll(() => {
  const train = (out: string, seed: number, extra: string[] = []) => {
    const r = cli(['train', '--hidden', '64,64', '--epochs', '2', '--train-samples', '6000', '--seed', String(seed), '--out', f(out), '--quiet', ...extra]);
    if (r.code !== 0) throw new Error(r.stderr);
  };
  train('a.safetensors', 1);
  train('b.safetensors', 2);
  train('low.safetensors', 3, ['--classes', '0-4']);
  train('high.safetensors', 4, ['--classes', '5-9']);
});

const last = (stdout: string) => JSON.parse(stdout.trim().split('\n').pop()!);

describe('mergemesh merge', () => {
  it('aligns, merges, reports inputs, merged model, interpolation path and gains', () => {
    const r = cli(['merge', f('a.safetensors'), f('b.safetensors'), '--method', 'activation', '--samples', '1000', '--out', f('ab.safetensors'), '--json']);
    expect(r.code, r.stderr).toBe(0);
    const j = last(r.stdout);
    expect(j.inputs.map((x: { path: string }) => x.path)).toEqual([f('a.safetensors'), f('b.safetensors')]);
    for (const x of j.inputs) expect(x.test_accuracy).toBeGreaterThan(0.8);
    expect(j.merged.test_accuracy).toBeGreaterThan(0.5);
    expect(j.path.map((p: { lambda: number }) => p.lambda)).toEqual([0, 0.25, 0.5, 0.75, 1]);
    // The path's ends are the inputs themselves.
    expect(j.path[0].test_accuracy).toBeCloseTo(j.inputs[0].test_accuracy, 10);
    expect(j.path[4].test_accuracy).toBeCloseTo(j.inputs[1].test_accuracy, 10);
    expect(j.merge_s).toBeGreaterThan(0);
    expect(j.alignment[1].groups.map((g: { group: string }) => g.group)).toEqual(['fc1', 'fc2']);
    expect(loadModelFile(f('ab.safetensors')).model.def).toEqual(j.model);
  });

  it('PLeaS widens the model and the file records the new widths', () => {
    const r = cli(['merge', f('a.safetensors'), f('b.safetensors'), '--method', 'pleas', '--width-ratio', '1.5', '--samples', '1000', '--out', f('pleas.safetensors'), '--json']);
    expect(r.code, r.stderr).toBe(0);
    const j = last(r.stdout);
    expect(j.model.hidden).toEqual([96, 96]);
    expect(j.path).toEqual([]);
    expect(loadModelFile(f('pleas.safetensors')).model.def).toEqual({ kind: 'mlp', input: [1, 28, 28], hidden: [96, 96], classes: 10 });
  });

  it('reports joint and per-task accuracy for models trained on different classes, and partial zips into heads', () => {
    const r = cli(['merge', f('low.safetensors'), f('high.safetensors'), '--method', 'zipit', '--zip-until', 'fc1', '--samples', '1000', '--out', f('zip.safetensors'), '--json']);
    expect(r.code, r.stderr).toBe(0);
    const j = last(r.stdout);
    expect(j.model.kind).toBe('multihead');
    expect(j.tasks.classes).toEqual([
      [0, 1, 2, 3, 4],
      [5, 6, 7, 8, 9],
    ]);
    expect(j.merged.per_task_accuracy).toHaveLength(2);
    expect(j.tasks.ensemble.joint_accuracy).toBeGreaterThan(0.5);
    // Chance within a 5-class task is 0.2.
    expect(j.merged.task_mean_accuracy).toBeGreaterThan(0.6);
    expect(existsSync(f('zip.safetensors'))).toBe(true);
  });

  it.each([
    [['merge', 'only-one.safetensors'], /at least two model files/],
    [['merge', 'missing1.safetensors', 'missing2.safetensors'], /cannot read model file/],
    [['merge', 'A', 'B', '--method', 'magic'], /argument 'magic' is invalid/],
  ])('rejects %j clearly', (args, msg) => {
    const r = cli((args as string[]).map((a) => (a === 'A' ? f('a.safetensors') : a === 'B' ? f('b.safetensors') : a)));
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(msg as RegExp);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('refuses to merge different architectures and misplaced flags', () => {
    const w = cli(['merge', f('a.safetensors'), f('pleas.safetensors')]);
    expect(w.stderr).toMatch(/only models of one architecture merge/);
    const z = cli(['merge', f('a.safetensors'), f('b.safetensors'), '--zip-until', '1']);
    expect(z.stderr).toMatch(/--zip-until applies to --method zipit/);
    const n = cli(['merge', f('a.safetensors'), f('b.safetensors'), '--weights', '1,2,3']);
    expect(n.stderr).toMatch(/--weights gives 3 weights for 2 models/);
  });
});
