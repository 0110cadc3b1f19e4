// Lowers a graph to an ONNX model: keeps only what the outputs need, names every value,
// and lets each op emit its ONNX nodes. Constants become initializers.
import type { DType, TypedArray } from './dtype.js';
import { STANDARD_TARGET, type CompileTarget, type Graph, type LowerContext, type Tensor } from './graph.js';
import { DEFAULT_OPSET, type OnnxAttr, type OnnxModel, type OnnxNode, type OnnxTensor, type OnnxValueInfo } from './onnx/model.js';
import { DYN } from './shape.js';

export interface CompileOptions {
  /** Graph name in the ONNX file. */
  readonly name?: string;
  readonly opset?: number;
  /** Name of the symbolic dimension used for dynamic sizes (default 'N'). */
  readonly dynamicDimName?: string;
  readonly metadata?: Readonly<Record<string, string>>;
  readonly docString?: string;
  /** Kernels beyond standard ONNX that the lowering may use (default: standard ONNX only). */
  readonly target?: CompileTarget;
}

const valueInfo = (name: string, t: Tensor, dyn: string): OnnxValueInfo => ({
  name,
  dtype: t.dtype,
  shape: t.shape.map((d) => (d === DYN ? dyn : d)),
});

/** Compiles `outputs` (ONNX output name → tensor) of graph `g` into an ONNX model. */
export function compileGraph(g: Graph, outputs: Readonly<Record<string, Tensor>>, opts: CompileOptions = {}): OnnxModel {
  const dyn = opts.dynamicDimName ?? 'N';
  const outEntries = Object.entries(outputs);
  for (const [name, t] of outEntries) if (t.graph !== g) throw new Error(`compile: output '${name}' is not in this graph`);

  // Which nodes and tensors the outputs need.
  const live = new Set<Tensor>();
  const stack = outEntries.map(([, t]) => t);
  while (stack.length) {
    const t = stack.pop()!;
    if (live.has(t)) continue;
    live.add(t);
    if (t.source.kind === 'node') for (const i of t.source.node.inputs) stack.push(i);
  }

  const nodes: OnnxNode[] = [];
  const initializers: OnnxTensor[] = [];
  const names = new Map<Tensor, string>();
  const used = new Set<string>();
  let tmp = 0;
  const fresh = (hint: string): string => {
    let n: string;
    do n = `${hint}_${tmp++}`;
    while (used.has(n));
    used.add(n);
    return n;
  };
  for (const t of g.inputs) {
    const n = (t.source as { name: string }).name;
    names.set(t, n);
    used.add(n);
  }
  // Output names are reserved up front so no intermediate takes them.
  for (const [name] of outEntries) {
    if (used.has(name)) throw new Error(`compile: output name '${name}' collides with an input`);
    used.add(name);
  }

  const cache = new Map<string, string>();
  const addInit = (data: TypedArray, dims: ReadonlyArray<number>, dtype: DType, hint: string): string => {
    const name = fresh(hint);
    initializers.push({ name, dtype, dims: [...dims], data });
    return name;
  };
  const target = opts.target ?? STANDARD_TARGET;
  const domains = new Set<string>();
  const ctx: LowerContext = {
    target,
    emit(op: string, inputs: ReadonlyArray<string>, outs: ReadonlyArray<string>, attrs?: Record<string, OnnxAttr>, domain?: string) {
      const o = [...outs];
      while (o.length && o[o.length - 1] === '') o.pop();
      if (domain) domains.add(domain);
      nodes.push({ op, inputs, outputs: o, attrs, domain, name: `${op}_${nodes.length}` });
    },
    temp: (hint = 't') => fresh(hint),
    i64(values) {
      const key = `i64:${values.join(',')}`;
      let n = cache.get(key);
      if (!n) cache.set(key, (n = addInit(BigInt64Array.from(values, (v) => BigInt(v)), [values.length], 'int64', 'shape')));
      return n;
    },
    scalar(value, dtype) {
      const key = `s:${dtype}:${value}`;
      let n = cache.get(key);
      if (!n) {
        const data = dtype === 'int64' ? BigInt64Array.of(BigInt(value)) : dtype === 'float64' ? Float64Array.of(value) : Float32Array.of(value);
        cache.set(key, (n = addInit(data, [], dtype, 'scalar')));
      }
      return n;
    },
    constant: (data, dims, dtype, hint = 'const') => addInit(data, dims, dtype, hint),
  };

  const nameOf = (t: Tensor): string => {
    const n = names.get(t);
    if (n !== undefined) return n;
    if (t.source.kind === 'const') {
      const c = addInit(t.source.data, t.shape, t.dtype, t.source.name ?? 'const');
      names.set(t, c);
      return c;
    }
    throw new Error(`compile: ${t} is used before it is defined`);
  };

  const outputByTensor = new Map<Tensor, string>();
  for (const [name, t] of outEntries) if (!outputByTensor.has(t) && t.source.kind === 'node') outputByTensor.set(t, name);

  for (const node of g.nodes) {
    if (!node.outputs.some((o) => live.has(o))) continue;
    const ins = node.inputs.map(nameOf);
    // Only trailing outputs may be omitted in ONNX; unused ones in the middle get a name.
    let lastLive = node.outputs.length - 1;
    while (!live.has(node.outputs[lastLive])) lastLive--;
    const outs = node.outputs.map((o, k) => {
      if (k > lastLive) return '';
      const n = outputByTensor.get(o) ?? fresh(`t${o.id}`);
      names.set(o, n);
      return n;
    });
    node.op.lower(ctx, ins, outs, node);
  }
  // Outputs that are inputs, constants, or a tensor exported under two names need an Identity.
  for (const [name, t] of outEntries) {
    if (names.get(t) !== name) ctx.emit('Identity', [nameOf(t)], [name]);
  }

  return {
    graph: {
      name: opts.name ?? 'mergemesh',
      nodes,
      inputs: g.inputs.map((t) => valueInfo(names.get(t)!, t, dyn)),
      outputs: outEntries.map(([name, t]) => valueInfo(name, t, dyn)),
      initializers,
    },
    opsets: [{ domain: '', version: opts.opset ?? DEFAULT_OPSET }, ...[...domains].map((domain) => ({ domain, version: 1 }))],
    producerName: 'mergemesh',
    metadata: opts.metadata,
    docString: opts.docString,
  };
}
