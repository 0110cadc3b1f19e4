// MergeMany as a neighbourhood merge (strategy.align_to "mean"): participants are aligned in
// one order the run shares, on their published versions, so agents merging the same versions
// find the same permutations. On a complete graph every agent then holds one model after its
// first merge, where aligning to its own frame leaves each agent in a frame of its own.
import { describe, expect, it } from 'vitest';
import { simulate, SMALL } from '../helpers/sim.js';

describe('weight matching with MergeMany on a complete graph (4 agents, IID, real MNIST)', () => {
  const run = async (align_to: 'self' | 'mean') =>
    (
      await simulate({
        ...SMALL,
        // The default width: a 32-unit MLP pretrained on 512 samples is too weak to say which merge is better.
        model: { kind: 'mlp', input: [1, 28, 28], hidden: [128, 128], classes: 10 },
        rounds: 1,
        topology: { kind: 'complete' },
        strategy: { kind: 'weight', align_to },
        metrics: { aligned_consensus: false, eval_trained: false },
      })
    ).result.rounds.find((r) => r.round === 1)!;

  it('brings every agent to one model after one merge; aligning to the own frame does not', async () => {
    const mean = await run('mean');
    const self = await run('self');
    // What is left is the int8 codec's error between an agent's exact weights and its published copy.
    expect(mean.consensus_distance).toBeLessThan(1e-3);
    expect(self.consensus_distance).toBeGreaterThan(0.1);
    // The shared model is a real merge, not a collapse: as good as the per-agent merges.
    expect(mean.mean_accuracy).toBeGreaterThan(self.mean_accuracy - 0.05);
  });
});
