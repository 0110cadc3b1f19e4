// `mergemesh node --config peer.json`: one real peer of a run, until its rounds are done or
// it receives SIGINT/SIGTERM.
import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { Command } from 'commander';
import { ConfigError, loadNodeConfig, type NodeConfig } from '../net/config.js';
import { startNode, type NodeEvent } from '../net/run-node.js';
import { runCommand, UserError } from './errors.js';

interface NodeFlags {
  config: string;
  json?: boolean;
  quiet?: boolean;
  printConfig?: boolean;
}

const EXAMPLE = `{
  "run": "demo",
  "identity": "peer-a.key.json",
  "listen": ["/ip4/0.0.0.0/tcp/4001"],
  "bootstrap": ["/ip4/192.168.1.20/tcp/4001/p2p/12D3KooW..."],
  "data": { "dataset": "mnist", "partition": { "kind": "iid" }, "shard": 0, "shards": 4 },
  "train": { "optimizer": "adam", "batch": 64, "epochs_per_round": 1, "rounds": 10 },
  "metrics": { "listen": "127.0.0.1:9464" }
}`;

export function nodeCommand(): Command {
  return new Command('node')
    .description('Run one peer of a run on libp2p: train on its data shard, publish versions, merge with the versions it holds of the other peers.')
    .requiredOption('--config <file>', 'the peer\'s JSON configuration (see docs/cli.md#node)')
    .option('--json', 'print events as JSON lines on stdout (listening, round, version, stopped)')
    .option('--quiet', 'no human-readable progress on stderr')
    .option('--print-config', 'print the configuration with every default filled in, and exit')
    .addHelpText(
      'after',
      `
A minimal peer.json (every other field has a default; unknown fields are errors):
${EXAMPLE}

The identity key file is created on first start and reused after, so the peer id is stable.
Metrics (Prometheus text) are served at http://<metrics.listen>/metrics.
SIGINT or SIGTERM stops the peer cleanly (a second one exits at once).`,
    )
    .action((flags: NodeFlags) => runCommand(() => runNode(flags)));
}

function short(id: string): string {
  return id.length > 16 ? `${id.slice(0, 8)}…${id.slice(-6)}` : id;
}

function describe(e: NodeEvent): string {
  switch (e.event) {
    case 'listening':
      return [
        `peer ${e.peer_id}${e.identity_created ? ' (new identity)' : ''}`,
        `  listening on ${e.addresses.join(', ')}`,
        `  ${e.model}, ${e.params.toLocaleString('en')} parameters, ${e.shard_samples} training samples in this shard`,
        e.metrics ? `  metrics at ${e.metrics}` : '  metrics disabled',
        ...(e.restored.length ? [`  restored replicas of ${e.restored.length} neighbour(s)`] : []),
      ].join('\n');
    case 'round':
      return (
        `round ${e.round}: test accuracy ${(100 * e.test_accuracy).toFixed(2)}%, test loss ${e.test_loss.toFixed(4)}, train loss ${e.train_loss.toFixed(4)}, trained ${e.train_s.toFixed(1)} s; published v${e.seq} ${e.hash.slice(0, 12)}…` +
        (e.merged_accuracy === null ? `; nothing to merge yet (${e.neighbours} neighbour(s) held)` : `; merged with ${e.merged_with.length} peer(s) in ${e.merge_s.toFixed(1)} s → ${(100 * e.merged_accuracy).toFixed(2)}% (frame ${e.frame})`)
      );
    case 'version':
      return `  ← ${short(e.peer)} v${e.seq} ${e.hash.slice(0, 12)}… (${e.via})`;
    case 'stopped':
      return `stopped (${e.reason}) after ${e.rounds} round(s)`;
  }
}

async function runNode(f: NodeFlags): Promise<void> {
  let cfg: NodeConfig;
  try {
    cfg = loadNodeConfig(f.config);
  } catch (e) {
    throw new UserError((e as Error).message);
  }
  if (f.printConfig) {
    process.stdout.write(`${JSON.stringify(cfg, null, 2)}\n`);
    return;
  }
  if (cfg.log) mkdirSync(dirname(cfg.log), { recursive: true });
  const emit = (e: NodeEvent) => {
    if (cfg.log) appendFileSync(cfg.log, `${JSON.stringify({ t: new Date().toISOString(), ...e })}\n`);
    if (f.json) process.stdout.write(`${JSON.stringify(e)}\n`);
    if (!f.quiet) process.stderr.write(`${describe(e)}\n`);
  };
  let node;
  try {
    node = await startNode(cfg, emit);
  } catch (e) {
    if (e instanceof ConfigError) throw new UserError(e.message);
    throw e;
  }
  let signals = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    if (++signals > 1) process.exit(130);
    if (!f.quiet) process.stderr.write(`${sig}: stopping (again to exit at once)\n`);
    void node.stop(sig);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    await node.done;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
