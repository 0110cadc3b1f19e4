// The `mergemesh train` command as a user runs it: flags, JSON summary, files, errors.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cli } from '../helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'mergemesh-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));


describe('mergemesh train', () => {
  it('trains, writes both files and ends stdout with a JSON summary', () => {
    const out = join(dir, 'm.safetensors');
    const onnx = join(dir, 'm.onnx');
    const r = cli(['train', '--epochs', '2', '--train-samples', '6000', '--hidden', '64', '--json', '--out', out, '--export', onnx, '--seed', '3']);
    expect(r.code, r.stderr).toBe(0);
    const last = JSON.parse(r.stdout.trim().split('\n').pop()!);
    expect(last.test_accuracy).toBeGreaterThan(0.8);
    expect(last.test_loss).toBeGreaterThan(0);
    expect(last.samples_per_s).toBeGreaterThan(0);
    expect(last.wall_s).toBeGreaterThan(0);
    expect(existsSync(out) && existsSync(onnx)).toBe(true);
    expect(r.stderr).toMatch(/epoch 1/);
  });

  it.each([
    [['train', '--model', 'transformer'], /argument 'transformer' is invalid/],
    [['train', '--epochs', '0'], /positive integer/],
    [['train', '--nesterov'], /--nesterov needs --optimizer momentum/],
    [['train', '--lr', 'fast'], /positive number/],
  ])('rejects %j with a clear message and no stack trace', (args, msg) => {
    const r = cli(args as string[]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(msg as RegExp);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});
