// `mergemesh bench sim` refuses settings that cannot give a steady round, before any work.
import { describe, expect, it } from 'vitest';
import { cli } from '../helpers/cli.js';

describe('mergemesh bench sim', () => {
  it.each([
    [['bench', 'sim', '--agents', '8', '--rounds', '2'], /at least 3 rounds/],
    [['bench', 'sim', '--rounds', '0'], /positive integer/],
    [['bench', 'sim', '--strategy', 'magic'], /argument 'magic' is invalid/],
  ])('rejects %j with a clear message and no stack trace', (args, msg) => {
    const r = cli(args as string[]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(msg as RegExp);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});
