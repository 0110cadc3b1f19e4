// Runs a scenario in this process and keeps its events (what the JSONL log would hold).
import { runScenario, type SimResult } from '../../sim/run.js';
import type { SimEvent } from '../../sim/events.js';
import { parseScenario, type ScenarioInput } from '../../sim/scenario.js';

/** Small but real: MNIST shards of a few hundred samples, a narrow MLP. */
export const SMALL: ScenarioInput = {
  agents: 4,
  rounds: 2,
  data: { samples_per_agent: 512, test_samples: 500 },
  model: { kind: 'mlp', input: [1, 28, 28], hidden: [32, 32], classes: 10 },
};

export async function simulate(input: ScenarioInput): Promise<{ result: SimResult; events: SimEvent[] }> {
  const events: SimEvent[] = [];
  const result = await runScenario(parseScenario(input), { onEvent: (e) => events.push(structuredClone(e)) });
  return { result, events };
}

export const meanAt = (r: SimResult, round: number): number => r.rounds.find((x) => x.round === round)!.mean_accuracy;
