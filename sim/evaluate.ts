// Evaluation of one agent's model on the global test set, with per-class results so that the
// accuracy on the agent's own data distribution (its "local" accuracy) costs no extra pass.
import type { Dataset } from '../node/data/dataset.js';
import type { Model } from '../node/model/model.js';
import { combineHeads, predict, scoreRow } from '../node/train/evaluate.js';
import type { Runtime } from '../node/tensor/runtime/pool.js';

export interface ClassEval {
  readonly accuracy: number;
  readonly loss: number;
  readonly correct: Float64Array;
  readonly lossSum: Float64Array;
  readonly count: Float64Array;
}

export async function evaluateByClass(rt: Runtime, model: Model, weights: Float32Array, test: Dataset, indices: ArrayLike<number>): Promise<ClassEval> {
  const C = model.classes;
  const logits = combineHeads(await predict(rt, model, weights, test, indices), model.heads, C);
  const correct = new Float64Array(C);
  const lossSum = new Float64Array(C);
  const count = new Float64Array(C);
  let right = 0;
  let loss = 0;
  for (let i = 0; i < indices.length; i++) {
    const y = test.labels[indices[i]];
    const { loss: l, correct: ok } = scoreRow(logits.subarray(i * C, (i + 1) * C), y);
    count[y]++;
    lossSum[y] += l;
    loss += l;
    if (ok) {
      correct[y]++;
      right++;
    }
  }
  const n = indices.length || 1;
  return { accuracy: right / n, loss: loss / n, correct, lossSum, count };
}

/** Accuracy and loss under a class distribution `p` (e.g. an agent's training labels). */
export function underDistribution(e: ClassEval, p: ArrayLike<number>): { accuracy: number; loss: number } {
  let acc = 0;
  let loss = 0;
  let mass = 0;
  for (let c = 0; c < e.count.length; c++) {
    if (!p[c] || !e.count[c]) continue;
    acc += p[c] * (e.correct[c] / e.count[c]);
    loss += p[c] * (e.lossSum[c] / e.count[c]);
    mass += p[c];
  }
  return mass > 0 ? { accuracy: acc / mass, loss: loss / mass } : { accuracy: e.accuracy, loss: e.loss };
}
