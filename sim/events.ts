// The event log of a simulated run (JSONL, one event per line). Fields named `time`, `wall_s`
// or ending in `_ms` are wall-clock measurements; everything else is determined by the
// scenario and its seed (on the virtual transport), so two runs' logs are identical apart
// from those fields.
import type { Scenario } from './scenario.js';

export const LOG_VERSION = 1;

export interface StartEvent {
  readonly event: 'start';
  readonly log_version: number;
  readonly time: string;
  readonly scenario: Scenario;
  readonly model: string;
  readonly params: number;
  readonly shard_sizes: ReadonlyArray<number>;
  readonly degrees: ReadonlyArray<number>;
  readonly edges: ReadonlyArray<readonly [number, number]>;
  readonly spectral_gap: number;
}

export interface AgentRoundEvent {
  readonly event: 'agent_round';
  readonly round: number;
  readonly agent: number;
  readonly online: boolean;
  /** Transport time (s) at the end of the agent's round: virtual on the virtual network. */
  readonly t: number;
  /** After the merge, on the global test set, and under the agent's own label distribution. */
  readonly accuracy: number;
  readonly loss: number;
  readonly local_accuracy: number;
  readonly local_loss: number;
  /** After local training, before the merge. */
  readonly trained_accuracy: number | null;
  readonly train_loss: number | null;
  readonly samples: number;
  readonly frame: number;
  readonly neighbours: ReadonlyArray<{ readonly agent: number; readonly weight: number; readonly lag: number; readonly age_s: number }>;
  readonly missing: ReadonlyArray<number>;
  readonly aligned: number;
  readonly gated: number;
  readonly groups: number;
  readonly gain: number;
  readonly bytes_sent: number;
  readonly bytes_received: number;
  readonly control_bytes: number;
  readonly train_ms: number;
  readonly compute_ms: number;
  readonly align_ms: number;
  readonly merge_ms: number;
  readonly eval_ms: number;
}

export interface RoundEvent {
  readonly event: 'round';
  readonly round: number;
  readonly t: number;
  readonly online: number;
  readonly mean_accuracy: number;
  readonly min_accuracy: number;
  readonly max_accuracy: number;
  readonly std_accuracy: number;
  readonly mean_loss: number;
  readonly mean_local_accuracy: number;
  readonly mean_trained_accuracy: number | null;
  readonly consensus_distance: number;
  readonly consensus_distance_aligned: number | null;
  readonly frames: number;
  readonly spectral_gap: number;
  readonly bytes_sent: number;
  readonly bytes_received: number;
  readonly control_bytes: number;
  readonly lost: number;
  readonly train_ms: number;
  readonly compute_ms: number;
  readonly align_ms: number;
  readonly merge_ms: number;
  readonly eval_ms: number;
  readonly wall_s: number;
}

/** libp2p mode: what libp2p itself moved during the rounds, summed over the peers. */
export interface Libp2pBytes {
  /** Bytes written to mergemesh's protocol streams (gossipsub and blob). */
  readonly protocol: number;
  readonly protocol_by_id: Readonly<Record<string, number>>;
  /** Bytes on the connections (with noise, yamux, identify, ping). */
  readonly transport: number;
}

export interface EndEvent {
  readonly event: 'end';
  readonly libp2p?: Libp2pBytes;
  readonly time: string;
  readonly rounds: number;
  readonly final_mean_accuracy: number;
  readonly final_min_accuracy: number;
  readonly bytes_sent: number;
  readonly wall_s: number;
}

export type SimEvent = StartEvent | AgentRoundEvent | RoundEvent | EndEvent;

/** Whether a field holds a wall-clock measurement (excluded when comparing runs). */
export const isWallClockField = (key: string): boolean => key === 'time' || key === 'wall_s' || key.endsWith('_ms');
