// Builds a model's forward graph in the three forms the system needs: an inference graph
// fed a flat weight vector (one cached session serves any weights), the same with feature
// taps for alignment, and a standalone export with the weights baked in as initializers.
import { compileGraph } from '../tensor/compile.js';
import { Graph, type CompileTarget, type Tensor } from '../tensor/graph.js';
import type { OnnxModel } from '../tensor/onnx/model.js';
import { cast, mul, reshape, split, sub } from '../tensor/ops/index.js';
import type { InputScaling } from '../data/dataset.js';
import { DYN } from '../tensor/shape.js';
import type { ForwardContext } from './arch.js';
import type { Layout } from './layout.js';
import type { Model } from './model.js';
import { describeModel } from './def.js';

export interface ForwardGraph {
  readonly graph: Graph;
  readonly x: Tensor;
  readonly logits: Tensor;
  readonly taps: ReadonlyMap<string, Tensor>;
  /** Training mode only: new values of buffers, by name. */
  readonly buffers: ReadonlyMap<string, Tensor>;
}

/**
 * One graph input per layout entry (named prefix + tensor name). Feeding views of the flat
 * vector costs nothing (ORT reads inputs in place), while splitting a flat input inside the
 * graph would copy every weight on every call.
 */
export function weightInputs(g: Graph, layout: Layout, prefix = 'w:', kind?: 'param' | 'buffer'): Map<string, Tensor> {
  const entries = kind ? layout.entries.filter((e) => e.kind === kind) : layout.entries;
  return new Map(entries.map((e) => [e.name, g.input(`${prefix}${e.name}`, e.shape)]));
}

/** Named views of a flat weight tensor (Split, then Reshape per entry), for graphs that hold one. */
export function unflatten(layout: Layout, flat: Tensor): Map<string, Tensor> {
  const pieces = split(flat, 0, layout.entries.map((e) => e.size));
  return new Map(layout.entries.map((e, i) => [e.name, reshape(pieces[i], e.shape)]));
}

/**
 * A uint8 pixel input scaled to model inputs inside the graph (x = pixel·scale − shift):
 * the JS side then copies bytes instead of converting every pixel to float32.
 */
export function pixelInput(g: Graph, name: string, shape: ReadonlyArray<number>, s: InputScaling): Tensor {
  const x = mul(cast(g.input(name, shape, 'uint8'), 'float32'), s.scale);
  return s.shift === 0 ? x : sub(x, s.shift);
}

export interface ForwardOptions {
  /** Batch size, or DYN for a dynamic batch (inference only). */
  readonly batch: number;
  readonly training: boolean;
  /** Where weights come from: tensors already in the graph (by name). */
  readonly params: ReadonlyMap<string, Tensor>;
  readonly graph: Graph;
  /** Input tensor; created as graph input 'input' when omitted. */
  readonly x?: Tensor;
  readonly bnMomentum?: number;
}

export function buildForward(model: Model, opts: ForwardOptions): ForwardGraph {
  const g = opts.graph;
  const x = opts.x ?? g.input('input', [opts.batch, ...model.input]);
  const taps = new Map<string, Tensor>();
  const buffers = new Map<string, Tensor>();
  const ctx: ForwardContext = {
    training: opts.training,
    bnMomentum: opts.bnMomentum,
    param(name) {
      const t = opts.params.get(name);
      if (!t) throw new Error(`model has no tensor '${name}'`);
      return t;
    },
    tap: (name, t) => taps.set(name, t),
    setBuffer: (name, t) => buffers.set(name, t),
  };
  const logits = model.forward(ctx, x);
  return { graph: g, x, logits, taps, buffers };
}

export interface InferenceOptions {
  readonly taps?: boolean | ReadonlyArray<string>;
  readonly batch?: number;
  readonly target?: CompileTarget;
  /** Take 'input' as uint8 pixels scaled in the graph (default: float32 model inputs). */
  readonly pixels?: InputScaling;
}

/** Inference graph: inputs 'w:<tensor>' per weight and 'input' [N, C, H, W]; output 'logits' (+ 'tap:<name>'). */
export function inferenceGraph(model: Model, opts: InferenceOptions = {}): OnnxModel {
  const g = new Graph();
  const batch = opts.batch ?? DYN;
  const x = opts.pixels ? pixelInput(g, 'input', [batch, ...model.input], opts.pixels) : undefined;
  const fwd = buildForward(model, { graph: g, batch, training: false, params: weightInputs(g, model.layout), x });
  const outputs: Record<string, Tensor> = { logits: fwd.logits };
  if (opts.taps) {
    const wanted = opts.taps === true ? [...fwd.taps.keys()] : opts.taps;
    for (const name of wanted) {
      const t = fwd.taps.get(name);
      if (!t) throw new Error(`model has no feature tap '${name}' (taps: ${[...fwd.taps.keys()].join(', ')})`);
      outputs[`tap:${name}`] = t;
    }
  }
  return compileGraph(g, outputs, { name: 'mergemesh_inference', target: opts.target });
}

/**
 * A standalone inference model: input 'input' [N, C, H, W] → output 'logits' [N, classes],
 * weights as named initializers and only standard ONNX ops, so any ONNX runtime can serve it.
 */
export function exportGraph(model: Model, weights: Float32Array, metadata: Record<string, string> = {}): OnnxModel {
  if (weights.length !== model.layout.totalSize) {
    throw new Error(`export: weights have ${weights.length} values, the model needs ${model.layout.totalSize}`);
  }
  const g = new Graph();
  const params = new Map<string, Tensor>();
  for (const e of model.layout.entries) {
    params.set(e.name, g.constant(weights.slice(e.offset, e.offset + e.size), e.shape, 'float32', e.name));
  }
  const fwd = buildForward(model, { graph: g, batch: DYN, training: false, params });
  return compileGraph(g, { logits: fwd.logits }, {
    name: 'mergemesh',
    docString: describeModel(model.def),
    metadata: { 'mergemesh.model': JSON.stringify(model.def), ...metadata },
  });
}
