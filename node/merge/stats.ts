// Feature statistics of two models over a dataset, for alignment. Both models run in one
// ORT graph; per unit group it emits sums, squared sums and the cross products Σ a bᵀ (and,
// for ZipIt!, Σ a aᵀ and Σ b bᵀ) as GEMMs over the batch. JS accumulates them in float64.
// Memory is O(d²) per model pair and group, never (N·d)².
import { gatherBatch, inputScaling, type Dataset, type InputScaling } from '../data/dataset.js';
import { buildForward, pixelInput, weightInputs } from '../model/graphs.js';
import type { Model } from '../model/model.js';
import { weightFeeds } from '../model/weights-io.js';
import { compileGraph } from '../tensor/compile.js';
import { Graph, type CompileTarget, type Tensor } from '../tensor/graph.js';
import { encodeModel } from '../tensor/onnx/encode.js';
import { add, matmul, mul, reduceSum, reduceSumSquare, reshape } from '../tensor/ops/index.js';
import { compiledModel, type CompiledModel, type Runtime } from '../tensor/runtime/pool.js';
import { DYN } from '../tensor/shape.js';

/** Moments of one group's features in two models, per sample (conv maps: per position). */
export interface FeatureStats {
  readonly size: number;
  /** Samples the moments average over. */
  readonly count: number;
  readonly meanA: Float64Array;
  readonly meanB: Float64Array;
  /** E[a²], E[b²] per unit. */
  readonly sqA: Float64Array;
  readonly sqB: Float64Array;
  /** E[a bᵀ], d×d row-major (rows: A's units). */
  readonly cross: Float64Array;
  /** E[a aᵀ] and E[b bᵀ] (only when asked for). */
  readonly selfA?: Float64Array;
  readonly selfB?: Float64Array;
}

export interface StatsOptions {
  /** Also collect within-model products (ZipIt!). */
  readonly self?: boolean;
  /** Only these groups (default: all). */
  readonly groups?: ReadonlyArray<string>;
  /** ':pre' for pre-activation features (REPAIR); '' (default) for post-activation taps. */
  readonly tap?: '' | ':pre';
  readonly batch?: number;
}

interface StatsGraph {
  readonly compiled: CompiledModel;
  /** Per group: the spatial size of each of its taps (1 for [N, d] features). */
  readonly spatial: ReadonlyMap<string, number>;
}

const cache = new WeakMap<Model, Map<string, StatsGraph>>();

function statsGraph(model: Model, groups: ReadonlyArray<string>, self: boolean, tap: string, pixels: InputScaling, target: CompileTarget): StatsGraph {
  const key = `${groups.join(',')}|${self}|${tap}|${pixels.scale}|${pixels.shift}|${target.nchwcBlock ?? 0}`;
  let byKey = cache.get(model);
  if (!byKey) cache.set(model, (byKey = new Map()));
  const hit = byKey.get(key);
  if (hit) return hit;

  const g = new Graph();
  const x = pixelInput(g, 'input', [DYN, ...model.input], pixels);
  const fa = buildForward(model, { graph: g, batch: DYN, training: false, params: weightInputs(g, model.layout, 'a:'), x });
  const fb = buildForward(model, { graph: g, batch: DYN, training: false, params: weightInputs(g, model.layout, 'b:'), x });
  const outputs: Record<string, Tensor> = {};
  const spatial = new Map<string, number>();
  for (const name of groups) {
    const group = model.spec.groups.find((q) => q.name === name);
    if (!group) throw new Error(`stats: no group '${name}'`);
    {
      const acc: Record<string, Tensor | undefined> = {};
      const sum = (k: string, t: Tensor) => (acc[k] = acc[k] ? add(acc[k]!, t) : t);
      let s = 0;
      for (const t of group.taps) {
        const a = fa.taps.get(`${t}${tap}`);
        const b = fb.taps.get(`${t}${tap}`);
        if (!a || !b) throw new Error(`stats: model has no tap '${t}${tap}'`);
        const d = a.shape[1];
        const withSelf = self;
        if (a.rank === 2) {
          sum('sumA', reduceSum(a, [0]));
          sum('sumB', reduceSum(b, [0]));
          sum('sqA', reduceSum(mul(a, a), [0])); // ORT's ReduceSumSquare over axis 0 is ~6× slower
          sum('sqB', reduceSum(mul(b, b), [0]));
          sum('cross', matmul(a, b, { transA: true }));
          if (withSelf) {
            sum('selfA', matmul(a, a, { transA: true }));
            sum('selfB', matmul(b, b, { transA: true }));
          }
          s += 1;
        } else {
          const hw = a.shape.slice(2).reduce((p, q) => p * q, 1);
          const axes = a.shape.map((_, i) => i).filter((i) => i !== 1);
          const a3 = reshape(a, [-1, d, hw]);
          const b3 = reshape(b, [-1, d, hw]);
          sum('sumA', reduceSum(a, axes));
          sum('sumB', reduceSum(b, axes));
          sum('sqA', reduceSumSquare(a, axes));
          sum('sqB', reduceSumSquare(b, axes));
          // Every position of every image is one sample: Σ_n A_n B_nᵀ over [d, h·w] slices.
          sum('cross', reduceSum(matmul(a3, b3, { transB: true }), [0]));
          if (withSelf) {
            sum('selfA', reduceSum(matmul(a3, a3, { transB: true }), [0]));
            sum('selfB', reduceSum(matmul(b3, b3, { transB: true }), [0]));
          }
          s += hw;
        }
      }
      for (const [k, t] of Object.entries(acc)) outputs[`${name}${tap}/${k}`] = t!;
      spatial.set(name, s);
    }
  }
  const compiled = compiledModel(encodeModel(compileGraph(g, outputs, { name: 'mergemesh_pair_stats', target })));
  const sg = { compiled, spatial };
  byKey.set(key, sg);
  return sg;
}

/** Feature moments of models A and B (same architecture) over samples `indices` of `ds`. */
export async function pairStats(
  rt: Runtime,
  model: Model,
  weightsA: Float32Array,
  weightsB: Float32Array,
  ds: Dataset,
  indices: ArrayLike<number>,
  opts: StatsOptions = {},
): Promise<Map<string, FeatureStats>> {
  if (model.heads > 1) throw new Error('stats: multi-head models have no single feature space to align');
  const groups = opts.groups ?? model.spec.groups.map((g) => g.name);
  const tap = opts.tap ?? '';
  const sg = statsGraph(model, groups, !!opts.self, tap, inputScaling(ds), await rt.target());
  // Large batches: fewer calls, and the cross-product GEMMs get a long inner dimension.
  const batch = opts.batch ?? 2000;
  const d = ds.shape[0] * ds.shape[1] * ds.shape[2];
  const sums = new Map<string, Float64Array>();
  const feeds = { ...weightFeeds(model.layout, weightsA, 'a:'), ...weightFeeds(model.layout, weightsB, 'b:') };
  const labels = new BigInt64Array(batch);
  for (let start = 0; start < indices.length; start += batch) {
    const n = Math.min(batch, indices.length - start);
    const x = new Uint8Array(n * d);
    gatherBatch(ds, indices, start, n, x, labels);
    const res = await rt.run(sg.compiled, { ...feeds, input: { dtype: 'uint8', dims: [n, ...ds.shape], data: x } }, { transfer: [x.buffer as ArrayBuffer] });
    for (const [k, t] of Object.entries(res.outputs)) {
      const v = t.data as Float32Array;
      const acc = sums.get(k) ?? new Float64Array(v.length);
      for (let i = 0; i < v.length; i++) acc[i] += v[i];
      sums.set(k, acc);
    }
  }
  const out = new Map<string, FeatureStats>();
  for (const name of groups) {
    const count = indices.length * sg.spatial.get(name)!;
    const moments = (tap: string): FeatureStats => {
      const get = (k: string) => {
        const v = sums.get(`${name}${tap}/${k}`);
        return v ? v.map((x) => x / count) : undefined;
      };
      const meanA = get('sumA')!;
      return { size: meanA.length, count, meanA, meanB: get('sumB')!, sqA: get('sqA')!, sqB: get('sqB')!, cross: get('cross')!, selfA: get('selfA'), selfB: get('selfB') };
    };
    out.set(name, moments(tap));
  }
  return out;
}

/** Standard deviations from second moments and means. */
export function deviations(sq: Float64Array, mean: Float64Array): Float64Array {
  const sd = new Float64Array(sq.length);
  for (let i = 0; i < sq.length; i++) sd[i] = Math.sqrt(Math.max(sq[i] - mean[i] * mean[i], 0));
  return sd;
}

/** Pearson correlation between A's unit i and B's unit j (0 where a unit never varies). */
export function correlation(s: FeatureStats): Float64Array {
  const d = s.size;
  const sdA = deviations(s.sqA, s.meanA);
  const sdB = deviations(s.sqB, s.meanB);
  const c = new Float64Array(d * d);
  for (let i = 0; i < d; i++) {
    const mi = s.meanA[i];
    const si = sdA[i];
    const base = i * d;
    for (let j = 0; j < d; j++) {
      const den = si * sdB[j];
      c[base + j] = den > 1e-12 ? (s.cross[base + j] - mi * s.meanB[j]) / den : 0;
    }
  }
  return c;
}
