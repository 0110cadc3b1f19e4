// The same scenario over real libp2p peers (in-memory transport, one process) reaches the
// virtual network's accuracy, and the bytes the simulator counts are the bytes libp2p moves.
import { describe, expect, it } from 'vitest';
import type { SimEvent } from '../../sim/events.js';
import { simulate } from '../helpers/sim.js';

const total = (r: Awaited<ReturnType<typeof simulate>>['result']) => r.rounds.reduce((a, x) => a + x.bytes_sent + x.control_bytes, 0);

describe('libp2p mode', () => {
  it('the default scenario: final mean accuracy within 1 point and bytes within 5 % of the virtual network', async () => {
    const virtual = await simulate({});
    const real = await simulate({ network: { transport: 'libp2p' } });
    const end = real.events.at(-1) as Extract<SimEvent, { event: 'end' }>;
    expect(Math.abs(real.result.final_mean_accuracy - virtual.result.final_mean_accuracy)).toBeLessThanOrEqual(0.01);
    // libp2p's own stream meters, gossip forwarding and gossipsub framing included.
    expect(end.libp2p?.protocol).toBeGreaterThan(0);
    const rel = Math.abs(total(real.result) - total(virtual.result)) / total(real.result);
    expect(rel).toBeLessThan(0.05);
    // Every agent merged with both ring neighbours in every round, as on the virtual network.
    for (const e of real.events) if (e.event === 'agent_round' && e.round > 0) expect(e.neighbours.map((n) => n.agent).sort()).toHaveLength(2);
  });
});
