// Runs the mergemesh CLI from the TypeScript sources, as a user would run it.
import { spawnSync } from 'node:child_process';

export function cli(args: string[], opts: { timeoutMs?: number } = {}) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'node/cli/main.ts', ...args], { encoding: 'utf8', timeout: opts.timeoutMs ?? 300_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
