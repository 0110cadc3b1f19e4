// Measuring merges: the interpolation path between a model and an aligned partner (and its
// loss barrier), and accuracy on label sets split between models (joint and per task).
import type { Dataset } from '../data/dataset.js';
import type { Model } from '../model/model.js';
import type { Runtime } from '../tensor/runtime/pool.js';
import { evaluate, predict } from '../train/evaluate.js';
import { hasBatchNorm, resetBatchNorm } from './repair.js';

export interface PathPoint {
  readonly lambda: number;
  readonly accuracy: number;
  readonly loss: number;
}

export const LAMBDAS: ReadonlyArray<number> = [0, 0.25, 0.5, 0.75, 1];

/**
 * Test accuracy and loss along (1−λ)·a + λ·b. BatchNorm statistics are recomputed at every
 * point (on `repairData`) when the model has BatchNorm: stale statistics would measure them,
 * not the weights.
 */
export async function interpolationPath(
  rt: Runtime,
  model: Model,
  a: Float32Array,
  b: Float32Array,
  test: Dataset,
  repairData?: { ds: Dataset; indices: ArrayLike<number> },
  lambdas: ReadonlyArray<number> = LAMBDAS,
): Promise<PathPoint[]> {
  const out: PathPoint[] = [];
  for (const lambda of lambdas) {
    let w: Float32Array = a.map((x, i) => (1 - lambda) * x + lambda * b[i]);
    if (hasBatchNorm(model) && repairData && lambda !== 0 && lambda !== 1) w = await resetBatchNorm(rt, model, w, repairData.ds, repairData.indices);
    const r = await evaluate(rt, model, w, test);
    out.push({ lambda, accuracy: r.accuracy, loss: r.loss });
  }
  return out;
}

/** max over the path of loss(λ) − ((1−λ)·loss(0) + λ·loss(1)). */
export function lossBarrier(path: ReadonlyArray<PathPoint>): number {
  const l0 = path[0].loss;
  const l1 = path[path.length - 1].loss;
  return Math.max(...path.map((p) => p.loss - ((1 - p.lambda) * l0 + p.lambda * l1)));
}

export interface TaskMetrics {
  /** Accuracy over all test samples of the tasks' classes, choosing among every class. */
  readonly joint: number;
  /** Accuracy within each task, given the task (argmax over its classes only). */
  readonly perTask: number[];
  /** Mean of perTask. */
  readonly taskMean: number;
}

/**
 * Metrics for models trained on disjoint label sets. Scores per sample come from `logits`
 * ([n, heads·C]: head t answers task t; a single head answers every task). Joint: a softmax
 * within each task's classes, then the argmax over all of them (so no task's logits
 * dominate merely by scale).
 */
export function taskMetrics(logits: Float32Array, heads: number, classes: number, labels: ArrayLike<number>, tasks: ReadonlyArray<ReadonlyArray<number>>): TaskMetrics {
  const n = labels.length;
  const taskOf = new Int32Array(classes).fill(-1);
  tasks.forEach((t, k) => t.forEach((c) => (taskOf[c] = k)));
  let jointOk = 0;
  let jointN = 0;
  const ok = new Array<number>(tasks.length).fill(0);
  const cnt = new Array<number>(tasks.length).fill(0);
  for (let i = 0; i < n; i++) {
    const y = labels[i];
    const ty = taskOf[y];
    if (ty < 0) continue;
    let bestClass = -1;
    let bestProb = -1;
    tasks.forEach((t, k) => {
      const h = heads === 1 ? 0 : k;
      const row = logits.subarray((i * heads + h) * classes, (i * heads + h + 1) * classes);
      const max = Math.max(...t.map((c) => row[c]));
      const z = t.reduce((s, c) => s + Math.exp(row[c] - max), 0);
      let taskBest = -1;
      let taskMax = -Infinity;
      for (const c of t) {
        const p = Math.exp(row[c] - max) / z;
        if (p > bestProb) {
          bestProb = p;
          bestClass = c;
        }
        if (row[c] > taskMax) {
          taskMax = row[c];
          taskBest = c;
        }
      }
      if (k === ty) {
        cnt[k]++;
        if (taskBest === y) ok[k]++;
      }
    });
    jointN++;
    if (bestClass === y) jointOk++;
  }
  const perTask = ok.map((o, k) => (cnt[k] ? o / cnt[k] : 0));
  return { joint: jointN ? jointOk / jointN : 0, perTask, taskMean: perTask.reduce((a, b) => a + b, 0) / perTask.length };
}

/** Task metrics of one (possibly multi-head) model on a test set. */
export async function modelTaskMetrics(rt: Runtime, model: Model, weights: Float32Array, test: Dataset, tasks: ReadonlyArray<ReadonlyArray<number>>): Promise<TaskMetrics> {
  const logits = await predict(rt, model, weights, test);
  if (model.heads !== 1 && model.heads !== tasks.length) throw new Error(`a model with ${model.heads} heads cannot answer ${tasks.length} tasks`);
  return taskMetrics(logits, model.heads, model.classes, test.labels, tasks);
}

/** The ensemble of the source models: model t answers task t. */
export async function ensembleTaskMetrics(rt: Runtime, model: Model, weights: ReadonlyArray<Float32Array>, test: Dataset, tasks: ReadonlyArray<ReadonlyArray<number>>): Promise<TaskMetrics> {
  const per = await Promise.all(weights.map((w) => predict(rt, model, w, test)));
  const c = model.classes;
  const stacked = new Float32Array(test.count * weights.length * c);
  for (let i = 0; i < test.count; i++) per.forEach((l, t) => stacked.set(l.subarray(i * c, (i + 1) * c), (i * weights.length + t) * c));
  return taskMetrics(stacked, weights.length, c, test.labels, tasks);
}
