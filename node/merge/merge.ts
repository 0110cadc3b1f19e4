// Merging models: the methods as ways of choosing each group's merge (M, U), then the one
// merge operation, then repair of the activation statistics.
import type { Dataset } from '../data/dataset.js';
import type { Model } from '../model/model.js';
import type { Runtime } from '../tensor/runtime/pool.js';
import type { GroupAlignment, MatchScore } from './align.js';
import { alignModels, planFromPerms } from './many.js';
import { applyMerge, checkMixing, identityMerge, type MergePlan } from './plan.js';
import { pleasMerge } from './pleas.js';
import { hasBatchNorm, repairActivations, resetBatchNorm } from './repair.js';
import { pairStats } from './stats.js';
import { partialMerge, zipPlan, type ZipOptions } from './zipit.js';

export type MergeMethod = 'average' | 'weight' | 'activation' | 'zipit' | 'pleas';
export const MERGE_METHODS: ReadonlyArray<MergeMethod> = ['average', 'weight', 'activation', 'zipit', 'pleas'];

export interface MergeOptions {
  readonly method: MergeMethod;
  /** Mixing weights (normalised; default uniform). */
  readonly mix?: ReadonlyArray<number>;
  /** Unlabelled samples for activation statistics and norm repair. */
  readonly data?: { readonly ds: Dataset; readonly indices: ArrayLike<number> };
  /** Activation matching score (default correlation). */
  readonly score?: MatchScore;
  /** Gate: keep the identity where the relative alignment gain is below this (default 0). */
  readonly margin?: number;
  /** More than two models: align to the first ('first', default) or MergeMany ('mean'). */
  readonly reference?: 'first' | 'mean';
  /**
   * weight/activation: the versions to align (one per model) when they are not the weights
   * mixed. Agents align on published versions, which every peer holding them shares, and
   * mix their own exact weights.
   */
  readonly alignOn?: ReadonlyArray<Float32Array>;
  /** ZipIt!: α, β and, for a partial zip, the number of leading layers to merge. */
  readonly zip?: ZipOptions & { readonly until?: number };
  /** PLeaS: merged width over original width (default 1.25; one or per group), refit on/off. */
  readonly pleas?: { readonly widthRatio?: number | ReadonlyMap<string, number>; readonly refit?: boolean; readonly score?: MatchScore };
  /**
   * 'auto' (default): recompute BatchNorm statistics when the model has BatchNorm;
   * 'repair': also REPAIR models without normalisation; 'rescale': REPAIR's deviations only
   * (each unit scaled, its mean left where the merge put it); 'none': leave statistics alone.
   */
  readonly repair?: RepairMode;
  readonly seed?: number;
}

export type RepairMode = 'auto' | 'repair' | 'rescale' | 'none';
export const REPAIR_MODES: ReadonlyArray<RepairMode> = ['auto', 'repair', 'rescale', 'none'];

export interface MergeResult {
  readonly model: Model;
  readonly weights: Float32Array;
  /** Per model, how its groups were aligned (undefined for the reference and for averaging). */
  readonly alignments: ReadonlyArray<ReadonlyMap<string, GroupAlignment> | undefined>;
  readonly plan: MergePlan;
  readonly repaired: 'batchnorm' | 'repair' | 'rescale' | 'none';
  readonly ms: number;
}

export async function mergeModels(rt: Runtime, model: Model, weights: ReadonlyArray<Float32Array>, opts: MergeOptions): Promise<MergeResult> {
  const t0 = performance.now();
  const n = weights.length;
  if (n < 2) throw new Error('merge: needs at least two models');
  for (const w of weights) if (w.length !== model.layout.totalSize) throw new Error(`merge: a weight vector has ${w.length} values, the model ${model.layout.totalSize}`);
  if (opts.alignOn && (opts.alignOn.length !== n || opts.alignOn.some((w) => w.length !== model.layout.totalSize))) throw new Error('merge: alignOn needs one full weight vector per model');
  const mix = checkMixing(opts.mix ?? new Array(n).fill(1), n);
  const needsData = opts.method === 'activation' || opts.method === 'zipit' || opts.method === 'pleas';
  if (needsData && !opts.data) throw new Error(`merge: --method ${opts.method} needs data for activation statistics (--dataset, --samples)`);
  const pair = (what: string) => {
    if (n !== 2) throw new Error(`merge: ${what} merges exactly two models`);
    return weights as readonly [Float32Array, Float32Array];
  };

  let merged: Model = model;
  let out: Float32Array;
  let plan: MergePlan = new Map();
  let alignments: Array<ReadonlyMap<string, GroupAlignment> | undefined> = new Array(n).fill(undefined);
  switch (opts.method) {
    case 'average':
      out = applyMerge(model, model, weights, plan, mix);
      break;
    case 'weight':
    case 'activation': {
      const al = await alignModels(rt, model, opts.alignOn ?? weights, mix, { by: opts.method, data: opts.data, score: opts.score, margin: opts.margin, seed: opts.seed, reference: opts.reference });
      alignments = al.reports;
      plan = planFromPerms(model, al.perms, mix);
      out = applyMerge(model, model, weights, plan, mix);
      break;
    }
    case 'zipit': {
      const [a, b] = pair('ZipIt!');
      const stats = await pairStats(rt, model, a, b, opts.data!.ds, opts.data!.indices, { self: true });
      plan = zipPlan(stats, mix, opts.zip);
      if (opts.zip?.until !== undefined) {
        const r = partialMerge(model, weights, plan, opts.zip.until, mix);
        merged = r.model;
        out = r.weights;
      } else {
        out = applyMerge(model, model, weights, plan, mix);
      }
      break;
    }
    case 'pleas': {
      const r = await pleasMerge(rt, model, pair('PLeaS'), mix, opts.data!.ds, opts.data!.indices, {
        widthRatio: opts.pleas?.widthRatio ?? 1.25,
        refit: opts.pleas?.refit,
        score: opts.pleas?.score,
      });
      merged = r.model;
      out = r.weights;
      plan = r.plan;
      alignments = [undefined, r.alignments];
      break;
    }
  }

  const r = await repairMerge(rt, model, weights, merged, out, plan, mix, opts.data, opts.repair ?? 'auto');
  out = r.weights;
  const repaired = r.repaired;
  return { model: merged, weights: out, alignments, plan, repaired, ms: performance.now() - t0 };
}

/**
 * Repairs a merged model's activation statistics: BatchNorm statistics recomputed on `data`
 * (every mode but 'none'), or for models without normalisation REPAIR ('repair') or its
 * deviations only ('rescale').
 */
export async function repairMerge(
  rt: Runtime,
  model: Model,
  sources: ReadonlyArray<Float32Array>,
  merged: Model,
  weights: Float32Array,
  plan: MergePlan,
  mix: ReadonlyArray<number>,
  data: MergeOptions['data'],
  mode: NonNullable<MergeOptions['repair']>,
): Promise<{ weights: Float32Array; repaired: MergeResult['repaired'] }> {
  if (mode === 'none' || !data || merged.heads !== 1) return { weights, repaired: 'none' };
  if (hasBatchNorm(merged)) return { weights: await resetBatchNorm(rt, merged, weights, data.ds, data.indices), repaired: 'batchnorm' };
  if ((mode === 'repair' || mode === 'rescale') && (model.def.kind === 'mlp' || model.def.kind === 'cnn')) {
    // Averaging has no plan of its own: REPAIR it unit by unit (the identity merge).
    const full = new Map(model.spec.groups.map((g) => [g.name, plan.get(g.name) ?? identityMerge(g.size, mix)]));
    return { weights: await repairActivations(rt, model, sources, merged, weights, full, data.ds, data.indices, { means: mode === 'repair' }), repaired: mode };
  }
  return { weights, repaired: 'none' };
}
