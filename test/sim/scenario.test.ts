// The scenario file: complete defaults, every problem reported at once, --set edits; and the
// virtual clock that makes a simulated run replay exactly.
import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createVirtualClock } from '../../sim/clock.js';
import { applySets, loadScenarioFile, marginOf, parseScenario, ScenarioError } from '../../sim/scenario.js';

describe('scenario', () => {
  it('the embedded default: 8 agents, ring, MNIST, MLP, a few rounds, the frame-aware strategy', () => {
    const s = parseScenario({});
    expect(s).toMatchObject({ agents: 8, rounds: 4, mode: 'sync', topology: { kind: 'ring' }, data: { dataset: 'mnist', partition: { kind: 'iid' } }, strategy: { kind: 'frame' } });
    expect(s.model).toMatchObject({ kind: 'mlp', hidden: [128, 128] });
    expect(s.network).toMatchObject({ transport: 'virtual', codec: 'int8', inline_delta_bytes: 0 });
    expect(marginOf(s)).toBe(0.02);
    expect(marginOf(parseScenario({ strategy: { kind: 'activation' } }))).toBe(0);
  });

  it('reports every problem at once, with its path; unknown keys are errors', () => {
    let msg = '';
    try {
      parseScenario({ agents: 0, topology: { kind: 'hypercube' }, strategy: { kind: 'frame', colour: 'red' }, rounds: 'many' }, 'bad.json');
    } catch (e) {
      expect(e).toBeInstanceOf(ScenarioError);
      msg = (e as Error).message;
    }
    expect(msg).toMatch(/^bad\.json is not a valid scenario/);
    for (const path of ['agents', 'topology.kind', 'strategy', 'rounds']) expect(msg).toContain(`  ${path}`);
    expect(msg).toMatch(/colour/);
  });

  it('refuses combinations that cannot run, saying why', () => {
    expect(() => parseScenario({ strategy: { kind: 'zipit' } })).toThrow(/two models at a time/);
    expect(() => parseScenario({ network: { transport: 'libp2p', loss: 0.1 } })).toThrow(/virtual-network faults/);
    expect(() => parseScenario({ network: { transport: 'libp2p' }, schedule: { kind: 'random-matching' } })).toThrow(/static topologies/);
  });

  it('align_to: DIMAT\'s own-frame alignment by default, MergeMany for weight and activation matching only', () => {
    expect(parseScenario({ strategy: { kind: 'weight' } }).strategy.align_to).toBe('self');
    expect(parseScenario({ strategy: { kind: 'activation', align_to: 'mean' } }).strategy.align_to).toBe('mean');
    expect(() => parseScenario({ strategy: { kind: 'average', align_to: 'mean' } })).toThrow(/strategy\.align_to: .*average does not use it/);
    expect(() => parseScenario({ strategy: { kind: 'weight', align_to: 'median' } })).toThrow(/strategy\.align_to/);
  });

  it('--set edits nested fields, parses JSON values, and a new kind drops the old kind\'s fields', () => {
    const raw = applySets({ topology: { kind: 'torus', rows: 2 } }, ['agents=16', 'topology.kind=ring', 'strategy.kind=activation', 'data.partition={"kind":"classes","per_agent":2}', 'name=my run']);
    expect(raw).toEqual({ agents: 16, topology: { kind: 'ring' }, strategy: { kind: 'activation' }, data: { partition: { kind: 'classes', per_agent: 2 } }, name: 'my run' });
    expect(parseScenario(raw).agents).toBe(16);
    expect(() => applySets({}, ['agents'])).toThrow(/expected path=value/);
    expect(() => applySets({}, ['a..b=1'])).toThrow(/not a field path/);
    expect(() => applySets({ agents: 3 }, ['agents.x=1'])).toThrow(/agents is not an object/);
  });
});

describe('virtual clock', () => {
  it('advances only when every coroutine waits, and fires same-time events in key order', async () => {
    const clock = createVirtualClock();
    const log: string[] = [];
    await clock.run(
      [2, 1, 0].map((i) => async () => {
        // Real work of different lengths must not change the order of virtual events.
        await new Promise((r) => setTimeout(r, 5 * (3 - i)));
        await clock.sleep(1, { owner: i, seq: 0 });
        log.push(`${i}@${clock.now()}`);
        await clock.sleep(i, { owner: i, seq: 1 });
        log.push(`${i}@${clock.now()}`);
      }),
    );
    expect(log).toEqual(['0@1', '1@1', '2@1', '0@1', '1@2', '2@3']);
  });

  it('waitFor wakes on a condition or at its timeout', async () => {
    const clock = createVirtualClock();
    let flag = false;
    const results: Array<[boolean, number]> = [];
    await clock.run([
      async () => {
        results.push([await clock.waitFor(() => flag, 10, 0), clock.now()]);
        results.push([await clock.waitFor(() => false, 2, 0), clock.now()]);
      },
      async () => {
        await clock.sleep(3, { owner: 1, seq: 0 });
        flag = true;
      },
    ]);
    expect(results).toEqual([
      [true, 3],
      [false, 5],
    ]);
  });

  it('a deadlock is an error, not a hang', async () => {
    const clock = createVirtualClock();
    await expect(clock.run([() => clock.waitFor(() => false, Infinity, 0).then(() => undefined)])).rejects.toThrow(/deadlock/);
  });
});

describe('example scenarios', () => {
  it('every file in examples/scenarios is a valid scenario', () => {
    const files = readdirSync('examples/scenarios').filter((f) => f.endsWith('.json'));
    expect(files.length).toBeGreaterThanOrEqual(5);
    for (const f of files) expect(() => parseScenario(loadScenarioFile(`examples/scenarios/${f}`), f), f).not.toThrow();
  });
});
