// A peer's Prometheus metrics (libp2p's own metrics register into the same registry).
import { Counter, Gauge, Registry } from 'prom-client';
import { REJECT_REASONS } from '../../protocol/messages.js';

export interface PeerMetrics {
  readonly registry: Registry;
  readonly versionsSent: Counter;
  readonly versionsReceived: Counter;
  /** Bytes by direction and message type (announce, hello, ack, have, want, blob). */
  readonly bytes: Counter<'direction' | 'type'>;
  readonly rejects: Counter<'reason'>;
  /** Pulls that failed for reasons other than a rejected message (timeouts, broken streams). */
  readonly fetchFailures: Counter<'reason'>;
  /** Seconds since each neighbour's replica was last updated. */
  readonly staleness: Gauge<'peer'>;
  /** Versions a neighbour announced that this peer does not hold yet. */
  readonly lag: Gauge<'peer'>;
}

export function createPeerMetrics(registry = new Registry()): PeerMetrics {
  const m: PeerMetrics = {
    registry,
    versionsSent: new Counter({ name: 'mergemesh_versions_sent_total', help: 'Versions this peer published', registers: [registry] }),
    versionsReceived: new Counter({ name: 'mergemesh_versions_received_total', help: 'Neighbour versions verified and stored', registers: [registry] }),
    bytes: new Counter({ name: 'mergemesh_bytes_total', help: 'Protocol bytes by direction and message type', labelNames: ['direction', 'type'], registers: [registry] }),
    rejects: new Counter({ name: 'mergemesh_rejects_total', help: 'Inbound messages rejected, by reason', labelNames: ['reason'], registers: [registry] }),
    fetchFailures: new Counter({ name: 'mergemesh_fetch_failures_total', help: 'Version pulls that failed without a rejected message', labelNames: ['reason'], registers: [registry] }),
    staleness: new Gauge({ name: 'mergemesh_replica_staleness_seconds', help: 'Seconds since a neighbour replica was updated', labelNames: ['peer'], registers: [registry] }),
    lag: new Gauge({ name: 'mergemesh_replica_lag_versions', help: 'Announced versions of a neighbour not held yet', labelNames: ['peer'], registers: [registry] }),
  };
  // Every reason appears (at 0) from the start, so dashboards need no special cases.
  for (const r of REJECT_REASONS) m.rejects.inc({ reason: r }, 0);
  return m;
}
