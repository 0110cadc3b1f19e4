// Progress on stderr: a live bar on a terminal, a line every few seconds in logs (CI).
import cliProgress from 'cli-progress';

export interface Progress {
  start(total: number, label: string, value?: number): void;
  update(value: number, status?: string): void;
  stop(): void;
  /** A line of its own (bar-safe). */
  log(line: string): void;
}

export function createProgress(opts: { quiet?: boolean } = {}): Progress {
  if (opts.quiet) return { start() {}, update() {}, stop() {}, log() {} };
  const bar = new cliProgress.SingleBar(
    {
      stream: process.stderr,
      format: '{label} [{bar}] {percentage}% | {value}/{total} | {status}',
      barsize: 24,
      hideCursor: true,
      clearOnComplete: false,
      noTTYOutput: true,
      notTTYSchedule: 5000,
      etaBuffer: 50,
    },
    cliProgress.Presets.shades_classic,
  );
  let active = false;
  return {
    start(total, label, value = 0) {
      bar.start(total, value, { label, status: '' });
      active = true;
    },
    update(value, status = '') {
      bar.update(value, { status });
    },
    stop() {
      if (active) bar.stop();
      active = false;
    },
    log(line) {
      if (active && process.stderr.isTTY) {
        bar.stop();
        process.stderr.write(`${line}\n`);
        active = false;
      } else {
        process.stderr.write(`${line}\n`);
      }
    },
  };
}
