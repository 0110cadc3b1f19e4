// What a person reads after a simulated run: a per-round table and a few plain sentences on
// whether the cluster converged. Pure functions over the run's round events.
import type { RoundEvent } from './events.js';
import type { Scenario } from './scenario.js';

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

export function formatBytes(b: number): string {
  if (b < 1024) return `${b} B`;
  if (b < 1024 ** 2) return `${(b / 1024).toFixed(1)} KiB`;
  if (b < 1024 ** 3) return `${(b / 1024 ** 2).toFixed(1)} MiB`;
  return `${(b / 1024 ** 3).toFixed(2)} GiB`;
}

const COLUMNS = ['round', 'mean acc', 'min', 'max', 'own-data', 'loss', 'consensus', 'aligned', 'frames', 'sent', 'wall s'] as const;

export const TABLE_HEADER = COLUMNS.map((c, i) => (i === 0 ? c.padStart(5) : c.padStart(10))).join(' ');

/** One table row; round 0 is the state after pretraining, before any communication. */
export function formatRound(r: RoundEvent): string {
  const cells = [
    String(r.round),
    pct(r.mean_accuracy),
    pct(r.min_accuracy),
    pct(r.max_accuracy),
    pct(r.mean_local_accuracy),
    r.mean_loss.toFixed(3),
    r.consensus_distance.toFixed(3),
    r.consensus_distance_aligned === null ? '-' : r.consensus_distance_aligned.toFixed(3),
    String(r.frames),
    formatBytes(r.bytes_sent),
    r.wall_s.toFixed(1),
  ];
  return cells.map((c, i) => (i === 0 ? c.padStart(5) : c.padStart(10))).join(' ');
}

export const TABLE_LEGEND = [
  'mean/min/max acc: post-merge accuracy of the agents on the global test set',
  'own-data: accuracy under each agent\'s own label distribution; loss: mean global test loss',
  'consensus: RMS distance of the models to their mean, relative to its norm (0 = identical);',
  '  aligned: the same after permuting every model into agent 0\'s frame; frames: distinct frames held',
  'sent: bytes the wire carries that round (announcements, deltas, states, control)',
].join('\n');

function where(s: Scenario): string {
  switch (s.schedule.kind) {
    case 'static':
      return `on a ${s.topology.kind}`;
    case 'one-peer-exponential':
      return 'on the one-peer exponential schedule';
    case 'random-matching':
      return 'in random pairs each round';
    case 'resample':
      return `on a ${s.topology.kind} redrawn every ${s.schedule.every} round(s)`;
  }
}

/** A few sentences for a newcomer: what ran, where accuracy went, whether the models agree. */
export function describeOutcome(s: Scenario, rounds: ReadonlyArray<RoundEvent>): string {
  const first = rounds[0];
  const last = rounds[rounds.length - 1];
  const lines: string[] = [];
  const total = rounds.reduce((a, r) => a + r.bytes_sent, 0);
  lines.push(
    `${s.agents} agents ${where(s)} ran ${last.round} round(s) of '${s.strategy.kind}' merging: mean test accuracy ${pct(first.mean_accuracy)} after pretraining → ${pct(last.mean_accuracy)} after the last merge (worst agent ${pct(last.min_accuracy)}, spread ±${(100 * last.std_accuracy).toFixed(1)} points).`,
  );
  if (last.mean_trained_accuracy !== null) {
    const d = last.mean_accuracy - last.mean_trained_accuracy;
    lines.push(`The last merge ${d >= 0 ? 'raised' : 'lowered'} mean accuracy by ${Math.abs(100 * d).toFixed(1)} points over the locally trained models (${pct(last.mean_trained_accuracy)}).`);
  }
  if (s.strategy.kind === 'none') lines.push('No communication: every agent trained alone (a baseline to compare merging strategies against).');
  else {
    const c0 = first.consensus_distance_aligned ?? first.consensus_distance;
    const c1 = last.consensus_distance_aligned ?? last.consensus_distance;
    const verdict = c1 < 0.5 * c0 ? 'the models are converging to one' : c1 < c0 ? 'the models are drawing closer, slowly' : 'the models are not converging';
    lines.push(`Consensus distance ${c0.toFixed(3)} → ${c1.toFixed(3)}${last.consensus_distance_aligned !== null ? ' (after alignment)' : ''}: ${verdict}; ${last.frames} distinct frame(s) remain.`);
  }
  lines.push(`The wire carried ${formatBytes(total)} in all${s.network.transport === 'virtual' ? ` (virtual network; ${last.t.toFixed(1)} s of virtual time)` : ' (libp2p on loopback)'}.`);
  return lines.join('\n');
}
