// How far the agents are from agreeing: the root-mean-square distance of each agent's
// parameters to their mean, relative to the RMS parameter norm (0 = every agent holds the
// same model). Raw, and after aligning every model to agent 0's frame (weight matching):
// the difference between the two is how much of the disagreement is only a permutation.
import { matchWeights } from '../node/merge/weight-matching.js';
import type { Model } from '../node/model/model.js';
import { permuteWeights } from '../node/model/permute.js';
import type { Runtime } from '../node/tensor/runtime/pool.js';

export function consensusDistance(ws: ReadonlyArray<Float32Array>, size: number): number {
  const n = ws.length;
  if (n < 2) return 0;
  const mean = new Float64Array(size);
  for (const w of ws) for (let k = 0; k < size; k++) mean[k] += w[k] / n;
  let dev = 0;
  let norm = 0;
  for (const w of ws) {
    for (let k = 0; k < size; k++) {
      const d = w[k] - mean[k];
      dev += d * d;
      norm += w[k] * w[k];
    }
  }
  return norm > 0 ? Math.sqrt(dev / norm) : 0;
}

export async function alignedConsensusDistance(rt: Runtime, model: Model, ws: ReadonlyArray<Float32Array>, seed: number): Promise<number> {
  if (ws.length < 2) return 0;
  const aligned = [ws[0]];
  for (let i = 1; i < ws.length; i++) {
    const m = await matchWeights(rt, model, ws[0], ws[i], { seed: seed + i });
    aligned.push(permuteWeights(model.layout, model.spec, ws[i], new Map([...m.groups].map(([g, a]) => [g, a.perm]))));
  }
  return consensusDistance(aligned, model.layout.paramSize);
}
