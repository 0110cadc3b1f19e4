// Same scenario and seed on the virtual transport ⇒ the same event log, apart from wall-clock
// fields; faults (loss, jitter, churn) and asynchronous agents included.
import { describe, expect, it } from 'vitest';
import { isWallClockField, type SimEvent } from '../../sim/events.js';
import { SMALL, simulate } from '../helpers/sim.js';

function strip(e: unknown): unknown {
  if (Array.isArray(e)) return e.map(strip);
  if (e && typeof e === 'object') return Object.fromEntries(Object.entries(e).filter(([k]) => !isWallClockField(k)).map(([k, v]) => [k, strip(v)]));
  return e;
}

const FAULTY = {
  ...SMALL,
  agents: 5,
  rounds: 3,
  mode: 'async' as const,
  network: { loss: 0.2, jitter_ms: 15, churn: { rate: 0.2, down_rounds: 1 } },
  compute: { heterogeneity: 0.6 },
};

describe('determinism', () => {
  it.each(['async', 'sync'] as const)('identical logs for the same seed, with loss, jitter, churn and %s agents', async (mode) => {
    const a = await simulate({ ...FAULTY, mode });
    const b = await simulate({ ...FAULTY, mode });
    const sa = a.events.map(strip);
    expect(sa).toEqual(b.events.map(strip));
    // The faults happened: some deliveries were lost, some agent was down, versions were stale.
    const rounds = a.events.filter((e): e is Extract<SimEvent, { event: 'round' }> => e.event === 'round');
    const agents = a.events.filter((e): e is Extract<SimEvent, { event: 'agent_round' }> => e.event === 'agent_round');
    expect(rounds.reduce((n, r) => n + r.lost, 0)).toBeGreaterThan(0);
    expect(agents.some((e) => !e.online)).toBe(true);
    expect(agents.some((e) => e.neighbours.some((nb) => nb.lag > 0) || e.missing.length > 0)).toBe(true);
    expect(a.events[a.events.length - 1]).toMatchObject({ event: 'end', rounds: 3 });
  });

  it('another seed gives another run', async () => {
    const a = await simulate({ ...SMALL, rounds: 1 });
    const b = await simulate({ ...SMALL, rounds: 1, seed: 1 });
    expect(a.result.rounds.map((r) => r.mean_accuracy)).not.toEqual(b.result.rounds.map((r) => r.mean_accuracy));
  });
});
