#!/usr/bin/env node
// The mergemesh command line.
import { Command } from 'commander';
import { benchCommand } from './bench.js';
import { mergeCommand } from './merge.js';
import { nodeCommand } from './node.js';
import { reportCommand } from './report.js';
import { simCommand } from './sim.js';
import { trainCommand } from './train.js';

const program = new Command('mergemesh')
  .description('A decentralized merge-and-train peer network: train locally, merge with alignment (DIMAT, Git Re-Basin, ZipIt!, PLeaS).')
  .version('0.1.0')
  .showHelpAfterError('(run with --help for usage)')
  .addCommand(simCommand())
  .addCommand(reportCommand())
  .addCommand(trainCommand())
  .addCommand(mergeCommand())
  .addCommand(nodeCommand())
  .addCommand(benchCommand());

await program.parseAsync(process.argv);
