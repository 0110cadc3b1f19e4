// `mergemesh sim [scenario.json]`: a whole cluster of merge-and-train agents on this machine,
// with progress, a per-round table, a plain-language outcome and a JSONL event log.
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { Command, Option } from 'commander';
import type { SimEvent } from '../../sim/events.js';
import { runScenario } from '../../sim/run.js';
import { applySets, loadScenarioFile, parseScenario, ScenarioError, type Scenario } from '../../sim/scenario.js';
import { describeOutcome, formatRound, TABLE_HEADER, TABLE_LEGEND } from '../../sim/summary.js';
import { runCommand, UserError } from './errors.js';
import { createProgress } from './progress.js';

interface SimFlags {
  set: string[];
  transport?: 'virtual' | 'libp2p';
  log: string | false;
  json?: boolean;
  quiet?: boolean;
  printScenario?: boolean;
}

export const DEFAULT_LOG = 'mergemesh-sim.jsonl';

const collect = (v: string, acc: string[]) => [...acc, v];

export function simCommand(): Command {
  return new Command('sim')
    .description('Simulate a cluster of merge-and-train agents on this machine and show whether it converges.')
    .argument('[scenario]', 'scenario JSON file (default: the embedded scenario: 8 agents, ring, MNIST, MLP, 4 rounds)')
    .option('--set <path=value>', 'change one scenario field, e.g. --set agents=16 --set topology.kind=complete (repeatable)', collect, [])
    .addOption(new Option('--transport <kind>', 'virtual network on a virtual clock, or real libp2p peers on loopback (same as --set network.transport=…)').choices(['virtual', 'libp2p']))
    .option('--log <file>', 'JSONL event log (read by mergemesh report)', DEFAULT_LOG)
    .option('--no-log', 'do not write an event log')
    .option('--json', 'the last stdout line is a JSON object {final_mean_accuracy, wall_s, rounds: [...]}; the table goes to stderr')
    .option('--quiet', 'no progress or table on stderr')
    .option('--print-scenario', 'print the scenario with every default filled in, and exit')
    .addHelpText(
      'after',
      `
Examples:
  mergemesh sim                                          # the embedded default
  mergemesh sim --set strategy.kind=activation           # DIMAT (activation matching)
  mergemesh sim --set data.partition='{"kind":"classes","per_agent":2}' --set agents=5
  mergemesh sim my-scenario.json --set seed=3 --transport libp2p
  mergemesh sim examples/scenarios/noniid-ring.json       # ready-made scenarios
  mergemesh report ${DEFAULT_LOG} -o report.html    # plots of the run

Every scenario field, its default and meaning: docs/simulator.md (or --print-scenario).`,
    )
    .action((file: string | undefined, flags: SimFlags) => runCommand(() => sim(file, flags)));
}

function scenarioOf(file: string | undefined, f: SimFlags): Scenario {
  try {
    const raw = file ? loadScenarioFile(file) : {};
    const sets = f.transport ? [...f.set, `network.transport=${f.transport}`] : f.set;
    return parseScenario(applySets(raw, sets), file ?? 'the scenario');
  } catch (e) {
    if (e instanceof ScenarioError) throw new UserError(e.message);
    throw e;
  }
}

async function sim(file: string | undefined, f: SimFlags): Promise<void> {
  const s = scenarioOf(file, f);
  if (f.printScenario) {
    process.stdout.write(`${JSON.stringify(s, null, 2)}\n`);
    return;
  }
  const progress = createProgress({ quiet: f.quiet });
  // The table is the human output: stdout normally, stderr when stdout carries JSON.
  const table = (line: string) => {
    if (f.json) progress.log(line);
    else {
      progress.stop();
      process.stdout.write(`${line}\n`);
    }
  };
  let log: number | undefined;
  if (f.log) {
    try {
      mkdirSync(dirname(f.log), { recursive: true });
      log = openSync(f.log, 'w');
    } catch (e) {
      throw new UserError(`cannot write the event log ${f.log}: ${(e as Error).message}`);
    }
  }
  let done = 0;
  let total = 1;
  let round = 0;
  const onEvent = (e: SimEvent) => {
    if (log !== undefined) writeSync(log, `${JSON.stringify(e)}\n`);
    if (e.event === 'round') {
      if (e.round === 0) table(`\n${TABLE_HEADER}`);
      table(formatRound(e));
      if (done < total) progress.start(total, 'agent-rounds', done);
    }
  };
  let result;
  try {
    result = await runScenario(s, {
      onEvent,
      onStatus: (l) => progress.log(l),
      onProgress: (r, _agent, d, t) => {
        if (d === 1) progress.start(t, 'agent-rounds');
        done = d;
        total = t;
        round = Math.max(round, r);
        progress.update(d, r === 0 ? 'pretraining' : `round ${round}/${s.rounds}`);
      },
    });
  } catch (e) {
    if (e instanceof ScenarioError) throw new UserError(e.message);
    throw e;
  } finally {
    progress.stop();
    if (log !== undefined) closeSync(log);
  }
  const outro = [``, TABLE_LEGEND, ``, describeOutcome(s, result.rounds), ...(f.log ? [`Event log: ${f.log} (plots: mergemesh report ${f.log} -o report.html)`] : [])];
  for (const l of outro) table(l);
  if (f.json) {
    const rounds = result.rounds.map(({ event: _e, ...r }) => r);
    process.stdout.write(
      `${JSON.stringify({ final_mean_accuracy: result.final_mean_accuracy, final_min_accuracy: result.final_min_accuracy, bytes_sent: result.bytes_sent, wall_s: result.wall_s, log: f.log || null, rounds })}\n`,
    );
  }
}
