// The README's first command is `npm ci && npx mergemesh sim`: the built bin must run as a
// program. tsc writes files without the executable bit, so a fresh install once failed with
// "mergemesh: Permission denied" while every test (run from the sources) passed.
import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { bin: Record<string, string>; version: string };
const bin = pkg.bin.mergemesh;

describe('the installed mergemesh bin', () => {
  // `npm ci` (what .ci/run and the README run) builds dist/ through `prepare`.
  it.skipIf(!existsSync(bin))('is executable and runs through npx', () => {
    expect(readFileSync(bin, 'utf8').startsWith('#!/usr/bin/env node\n')).toBe(true);
    expect(() => accessSync(bin, constants.X_OK)).not.toThrow();
    const r = spawnSync('npx', ['--no-install', 'mergemesh', '--version'], { encoding: 'utf8', timeout: 60_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe(pkg.version);
  });
});
