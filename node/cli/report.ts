// `mergemesh report log.jsonl -o report.html`: a self-contained HTML report of a simulated run.
import { readFileSync, writeFileSync } from 'node:fs';
import { Command } from 'commander';
import { LogError, parseLog, renderReport } from '../../sim/report.js';
import { runCommand, UserError } from './errors.js';

export function reportCommand(): Command {
  return new Command('report')
    .description('Turn a sim event log (JSONL) into one self-contained HTML report with plots that opens offline.')
    .argument('<log>', 'the event log written by mergemesh sim (default name mergemesh-sim.jsonl)')
    .option('-o, --out <file>', 'the HTML file to write', 'report.html')
    .option('--title <text>', 'page title (default: the scenario name)')
    .action((path: string, flags: { out: string; title?: string }) =>
      runCommand(async () => {
        let text: string;
        try {
          text = readFileSync(path, 'utf8');
        } catch (e) {
          throw new UserError(`cannot read ${path}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
        }
        let html: string;
        try {
          const log = parseLog(text, path);
          html = renderReport(log, flags.title);
          if (!log.end) process.stderr.write(`mergemesh: warning: ${path} has no end event (the run was cut short); reporting the rounds it has\n`);
        } catch (e) {
          if (e instanceof LogError) throw new UserError(e.message);
          throw e;
        }
        try {
          writeFileSync(flags.out, html);
        } catch (e) {
          throw new UserError(`cannot write ${flags.out}: ${(e as Error).message}`);
        }
        process.stderr.write(`wrote ${flags.out} (${(html.length / 1024).toFixed(0)} KiB, self-contained)\n`);
      }),
    );
}
