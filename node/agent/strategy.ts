// How an agent merges its model with its neighbours' versions. A strategy is data; each kind
// is a way of choosing per-group merges over the same machinery (node/merge):
//   none        no communication (the local-training baseline);
//   average     weighted averaging (WA, D-PSGD style);
//   weight      Git Re-Basin weight matching of each neighbour to the agent's own frame
//               (or, with alignTo 'mean', MergeMany over the whole neighbourhood);
//   activation  DIMAT: activation matching of each neighbour to the agent's own frame
//               (or MergeMany with activations);
//   zipit/pleas ZipIt! and PLeaS at the original width, for two-model merges (one-peer schedules);
//   frame       frame-aware: align only across frames, into the run's lowest frame, and average
//               within a shared frame (see docs/agents.md).
import type { Dataset } from '../data/dataset.js';
import type { AlignmentCache, PairAlignment } from './alignment-cache.js';
import { alignPair, planFromPerms } from '../merge/many.js';
import { mergeModels, repairMerge, type RepairMode } from '../merge/merge.js';
import { restoreNorms } from '../merge/repair.js';
import { applyMerge, checkMixing } from '../merge/plan.js';
import type { MatchScore } from '../merge/align.js';
import { identityPermutations } from '../model/permute.js';
import type { Model } from '../model/model.js';
import type { Runtime } from '../tensor/runtime/pool.js';
import { predict, scoreLogits } from '../train/evaluate.js';

/**
 * weight/activation: what the neighbours are aligned to. 'self': each neighbour to the agent's
 * own model (DIMAT); 'mean': Git Re-Basin's MergeMany, every participant to the mean of the
 * others, in one order the whole run shares, so agents merging the same versions agree.
 */
export type AlignTo = 'self' | 'mean';
export const ALIGN_TO: ReadonlyArray<AlignTo> = ['self', 'mean'];

export type StrategyKind = 'none' | 'average' | 'weight' | 'activation' | 'zipit' | 'pleas' | 'frame';
export const STRATEGY_KINDS: ReadonlyArray<StrategyKind> = ['none', 'average', 'weight', 'activation', 'zipit', 'pleas', 'frame'];

export interface StrategyConfig {
  readonly kind: StrategyKind;
  /**
   * Gate: a group keeps the identity unless alignment gains at least this much over it
   * (relative score; 0 = always take the best permutation, as DIMAT does).
   */
  readonly margin: number;
  readonly score: MatchScore;
  /** weight/activation: align neighbours to the agent's own model, or MergeMany (see AlignTo). */
  readonly alignTo: AlignTo;
  /**
   * 'auto': BatchNorm statistics recomputed on local data, and with the frame policy 'rescale'
   * on merges that blend another task's model as it is; 'repair': REPAIR after every merge;
   * 'rescale': REPAIR's deviations only, after every merge; 'none'.
   */
  readonly repair: RepairMode;
  /** ZipIt!'s α and β. */
  readonly zipAlpha: number;
  readonly zipBeta: number;
  /** frame: re-check neighbours that claim the agent's frame with a gated alignment. */
  readonly verifyFrames: boolean;
  /**
   * frame: how models are brought into the target frame. Weight matching (default) depends
   * only on the two models, so every agent aligning frame X to frame F finds the same
   * permutation and they really share F afterwards; activation matching depends on each
   * agent's own (non-IID) data.
   */
  readonly frameAlign: 'weight' | 'activation';
  /**
   * frame: a neighbour in another frame is aligned only if its accuracy on this agent's own
   * labelled samples is at least this fraction of the agent's own (the two learnt the same
   * task in different unit orders); otherwise it is averaged as it is (its units' norms
   * restored, and the merge repaired as `repair` says).
   * 0 always aligns; above 1 never does.
   */
  readonly taskOverlap: number;
  /**
   * frame: own labelled samples the task check predicts (once per neighbour). It tells ~0 from
   * ~1, so a few hundred do; on a 64-agent ring the whole shard doubled the workers' load.
   */
  readonly taskSamples: number;
  /**
   * frame: after averaging, restore each unit's incoming-weight norm to its sources' mean
   * (data-free; undoes the shrinkage of averaging units that do not fully agree).
   */
  readonly restoreNorms: boolean;
}

/** What a strategy uses unless a scenario or peer config says otherwise (the one place for these defaults). */
export const DEFAULT_STRATEGY: Omit<StrategyConfig, 'kind' | 'margin'> = {
  score: 'correlation',
  alignTo: 'self',
  repair: 'auto',
  zipAlpha: 1e-4,
  zipBeta: 0,
  verifyFrames: false,
  frameAlign: 'weight',
  taskOverlap: 0.5,
  taskSamples: 256,
  restoreNorms: true,
};

/** The gate margin: DIMAT-style strategies take the best permutation; the frame policy keeps a frame unless alignment gains 2 %. */
export const defaultMargin = (kind: StrategyKind): number => (kind === 'frame' ? 0.02 : 0);

export interface MergeInput {
  readonly agent: number;
  readonly weight: number;
  readonly values: Float32Array;
  readonly frame: number;
  /**
   * The version of these weights every peer holds (a neighbour's `values` are that already;
   * an agent's own are its exact weights, its published copy is lossy). Alignment across
   * frames reads published versions, so both sides of a border find the same permutation.
   */
  readonly version?: { readonly hash: string; readonly values: Float32Array };
}

export interface MergeContext {
  readonly rt: Runtime;
  readonly model: Model;
  /** Unlabelled samples for activation statistics and norm repair (own data or a proxy set). */
  readonly data: { readonly ds: Dataset; readonly indices: ArrayLike<number> };
  /** Labelled samples of the agent's own data (to judge whether a neighbour learnt the same task). */
  readonly own: { readonly ds: Dataset; readonly indices: ArrayLike<number> };
  /** This agent's seed for this merge. */
  readonly seed: number;
  /** A seed every agent of the run shares (so shared computations agree). */
  readonly sharedSeed: number;
  /**
   * frame: whether each neighbour (by agent) learnt this agent's task, as judged the first
   * time it was met in another frame. Kept by the agent across merges: a neighbour's data
   * does not change, and re-judging it every round cost predictions with every merge.
   */
  readonly taskVerdicts?: Map<number, boolean>;
  /** frame: weight matchings of published versions, by their hashes (shared by a simulated cluster). */
  readonly alignments?: AlignmentCache;
  /**
   * frame: an array the merge may be written to (not a source), for a caller that copies the
   * result away at once: the agent, which merges every round.
   */
  readonly into?: Float32Array;
}

export interface MergeReport {
  readonly weights: Float32Array;
  readonly frame: number;
  /** Neighbours whose units were permuted (at least one group not gated). */
  readonly aligned: number;
  /** Groups kept at the identity by the gate, over all aligned neighbours. */
  readonly gated: number;
  readonly groups: number;
  /** Mean relative alignment gain over the groups aligned (0 when nothing was aligned). */
  readonly gain: number;
  readonly alignMs: number;
  readonly mergeMs: number;
}

/** Whether a strategy can merge `k` neighbours at once (ZipIt! and PLeaS merge pairs). */
export function mergesAtOnce(kind: StrategyKind): number {
  return kind === 'zipit' || kind === 'pleas' ? 1 : Infinity;
}

function summarise(alignments: ReadonlyArray<ReadonlyMap<string, { gain: number; gated: boolean }> | undefined>) {
  let aligned = 0;
  let gated = 0;
  let groups = 0;
  let gainSum = 0;
  for (const a of alignments) {
    if (!a) continue;
    let moved = false;
    for (const g of a.values()) {
      groups++;
      gainSum += g.gain;
      if (g.gated) gated++;
      else moved = true;
    }
    if (moved) aligned++;
  }
  return { aligned, gated, groups, gain: groups ? gainSum / groups : 0 };
}

export async function mergeStep(ctx: MergeContext, s: StrategyConfig, self: MergeInput, others: ReadonlyArray<MergeInput>): Promise<MergeReport> {
  const t0 = performance.now();
  const none = { aligned: 0, gated: 0, groups: 0, gain: 0, alignMs: 0 };
  if (s.kind === 'none' || others.length === 0) return { ...none, weights: self.values, frame: self.frame, mergeMs: 0 };
  if (others.length > mergesAtOnce(s.kind)) throw new Error(`strategy ${s.kind} merges one neighbour at a time; this round has ${others.length}`);
  if (s.kind === 'frame') return frameMerge(ctx, s, self, others, t0);

  // MergeMany (alignTo 'mean'): aligning every neighbour to the agent's own model leaves each
  // agent in a frame of its own, so the same permutations are searched again every round and,
  // under disjoint labels, the agents never come to agree (docs/agents.md). MergeMany runs in
  // agent order on the published versions with the run's shared seed: weight matching is then
  // a function of the versions and mixing weights alone, and agents merging the same
  // neighbourhood (every agent of a complete graph) hold one model afterwards. Activation
  // matching still reads each agent's own data. The exact weights are what is mixed.
  const many = s.alignTo === 'mean' && (s.kind === 'weight' || s.kind === 'activation');
  const all = many ? [self, ...others].sort((x, y) => x.agent - y.agent) : [self, ...others];
  const method = s.kind === 'average' ? 'average' : s.kind;
  const r = await mergeModels(
    ctx.rt,
    ctx.model,
    all.map((m) => m.values),
    {
      method,
      mix: all.map((m) => m.weight),
      data: ctx.data,
      score: s.score,
      margin: s.margin,
      reference: many ? 'mean' : 'first',
      alignOn: many ? all.map((m) => (m.version ?? m).values) : undefined,
      repair: s.repair,
      seed: many ? ctx.sharedSeed : ctx.seed,
      zip: { alpha: s.zipAlpha, beta: s.zipBeta },
      pleas: { widthRatio: 1, refit: true, score: s.score },
    },
  );
  const ms = performance.now() - t0;
  // In the agent's own frame (it is the reference), or with MergeMany in the frame the run's order gives.
  return { ...summarise(r.alignments), weights: r.weights, frame: self.frame, alignMs: s.kind === 'average' ? 0 : ms, mergeMs: s.kind === 'average' ? ms : 0 };
}

/**
 * Aligns `b` to reference `a` across frames. Weight matching reads both published versions,
 * so it is a function of the two hashes: every agent that meets the pair (both sides of the
 * border, on a complete graph all who hold both) gets the same permutation, and a shared
 * cache solves it once. Activation matching depends on each agent's own data and is not shared.
 */
function alignAcross(ctx: MergeContext, s: StrategyConfig, a: MergeInput, b: MergeInput): Promise<PairAlignment> {
  const opts = { by: s.frameAlign, data: ctx.data, score: s.score, margin: s.margin, seed: ctx.sharedSeed };
  if (s.frameAlign !== 'weight') return alignPair(ctx.rt, ctx.model, a.values, b.values, opts);
  const solve = () => alignPair(ctx.rt, ctx.model, (a.version ?? a).values, (b.version ?? b).values, opts);
  if (!ctx.alignments || !a.version || !b.version) return solve();
  return ctx.alignments.get(a.version.hash, b.version.hash, `weight:${s.margin}:${ctx.sharedSeed}`, solve);
}

/**
 * Frame-aware merging. Frames are named by agents; the run converges on the lowest name it
 * sees: the reference is the participant already in the lowest frame F (the agent itself if
 * it is). Participants in F are averaged as they are (their units already correspond). A
 * participant in another frame is aligned to the reference (weight matching with the gate)
 * when it has learnt the same task, judged on the agent's own labelled samples; a model of
 * a different task (disjoint labels) has no counterpart units, and forcing a permutation on
 * it makes every later averaging round worse, so it is averaged as it is, its units' norms
 * restored (data-free) and, by default, the units' deviations on the agent's own data set
 * back as REPAIR would (its means left alone). Either way the result is in F, and once the
 * run shares F merging is plain averaging: no re-permutation round after round (the failure
 * of per-agent frames, reference/merging.md §5). docs/agents.md has the measurements.
 */
async function frameMerge(ctx: MergeContext, s: StrategyConfig, self: MergeInput, others: ReadonlyArray<MergeInput>, t0: number): Promise<MergeReport> {
  const all = [self, ...others];
  const target = Math.min(...all.map((m) => m.frame));
  const ref = all.find((m) => m.frame === target)!;
  const order = [ref, ...all.filter((m) => m !== ref)];
  const mix = checkMixing(
    order.map((m) => m.weight),
    order.length,
  );
  const { model } = ctx;
  const perms = order.map(() => identityPermutations(model.spec));
  const alignments: Array<PairAlignment | undefined> = [];
  let blended = false;
  const labels = Array.from(ctx.own.indices, (i) => ctx.own.ds.labels[i]);
  // Accuracy of each participant on this agent's labelled samples, computed once per merge
  // (the reference takes part in every pair).
  const accuracies = new Map<MergeInput, Promise<number>>();
  const accuracyOnOwn = (p: MergeInput): Promise<number> => {
    let a = accuracies.get(p);
    if (!a) accuracies.set(p, (a = predict(ctx.rt, model, p.values, ctx.own.ds, ctx.own.indices).then((l) => scoreLogits(l, labels, model.classes).accuracy)));
    return a;
  };
  const knowsTask = async (p: MergeInput): Promise<boolean> => {
    const known = ctx.taskVerdicts?.get(p.agent);
    if (known !== undefined) return known;
    const v = (await accuracyOnOwn(p)) / Math.max(await accuracyOnOwn(self), 0.1) >= s.taskOverlap;
    ctx.taskVerdicts?.set(p.agent, v);
    return v;
  };
  for (let m = 1; m < order.length; m++) {
    if (order[m].frame === target && !s.verifyFrames) continue;
    if (order[m].frame !== target && s.taskOverlap > 0) {
      // Both sides of the pair must know this agent's task for their units to correspond.
      const pair = order[0] === self ? [order[m]] : order[m] === self ? [order[0]] : [order[0], order[m]];
      let same = true;
      for (const p of pair) same = same && (await knowsTask(p));
      if (!same) {
        blended = true;
        continue;
      }
    }
    const rep = await alignAcross(ctx, s, order[0], order[m]);
    alignments.push(rep);
    // Copied: a cached alignment is shared with other agents' merges.
    for (const [g, al] of rep) perms[m].set(g, al.perm.slice());
  }
  const t1 = performance.now();
  const plan = planFromPerms(model, perms, mix);
  const merged = applyMerge(model, model, order.map((m) => m.values), plan, mix, ctx.into);
  // Averaging units that do not fully agree shrinks them (variance collapse), most of all in
  // a blend of unrelated frames: restore their norms, data-free, so every agent merging the
  // same models gets the same result.
  const sources = order.map((m) => m.values);
  const restored = s.restoreNorms ? restoreNorms(model, merged, sources, perms, { inPlace: true }) : merged;
  // A blend of unrelated models is where averaging collapses activations most, and restoring
  // weight norms does not undo it (first merge on a complete graph: 12.9 % against DIMAT's
  // 15.6 %). Full REPAIR wins that round but its means, measured on two classes, cost the
  // later rounds; deviations alone win both (docs/agents.md). Within a frame the data-free
  // result stays.
  const mode = s.repair === 'auto' && blended ? 'rescale' : s.repair;
  const r = await repairMerge(ctx.rt, model, sources, model, restored, plan, mix, ctx.data, mode);
  return { ...summarise(alignments), weights: r.weights, frame: target, alignMs: t1 - t0, mergeMs: performance.now() - t1 };
}
