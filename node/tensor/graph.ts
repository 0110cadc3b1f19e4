// The symbolic graph: tensors are values produced by nodes, graph inputs or constants.
// Nodes are appended in construction order, which is therefore a topological order.
import type { DType, TypedArray } from './dtype.js';
import { fmtShape, type Shape } from './shape.js';

export interface OutSpec {
  readonly shape: Shape;
  readonly dtype: DType;
}

/**
 * What the compiled graph may use beyond standard ONNX. `nchwcBlock` is the channel block of
 * ORT's NCHWc direct-convolution kernels on this CPU (8 with AVX2, 16 with AVX-512); when
 * set, convolutions lower to those kernels. Exported models use the standard target.
 */
export interface CompileTarget {
  readonly nchwcBlock?: number;
}

export const STANDARD_TARGET: CompileTarget = {};

/** How an op lowers to ONNX: it receives value names and emits nodes through the context. */
export interface LowerContext {
  readonly target: CompileTarget;
  /** Emits one ONNX node; outputs are given as names. */
  emit(op: string, inputs: ReadonlyArray<string>, outputs: ReadonlyArray<string>, attrs?: Record<string, import('./onnx/model.js').OnnxAttr>, domain?: string): void;
  /** A fresh, unique value name for an intermediate. */
  temp(hint?: string): string;
  /** Name of an int64 1-D constant (deduplicated), for shape/axes inputs. */
  i64(values: ReadonlyArray<number>): string;
  /** Name of a scalar constant of the given dtype (deduplicated). */
  scalar(value: number, dtype: DType): string;
  /** Name of an initializer holding `data` (for constants an op derives while lowering). */
  constant(data: TypedArray, dims: ReadonlyArray<number>, dtype: DType, hint?: string): string;
}

/**
 * One op: shape inference, ONNX lowering and gradient rule live together, so adding an op
 * means writing exactly one object. `grad` receives the output gradients (undefined where no
 * gradient flows) and returns one gradient (or undefined) per input.
 */
export interface OpDef<A = unknown> {
  readonly type: string;
  infer(inputs: ReadonlyArray<Tensor>, attrs: A): OutSpec[];
  lower(ctx: LowerContext, inputs: ReadonlyArray<string>, outputs: ReadonlyArray<string>, node: Node<A>): void;
  grad?(node: Node<A>, dOut: ReadonlyArray<Tensor | undefined>): Array<Tensor | undefined>;
}

export function defineOp<A>(def: OpDef<A>): OpDef<A> {
  return def;
}

export class Node<A = unknown> {
  constructor(
    readonly id: number,
    readonly op: OpDef<A>,
    readonly inputs: ReadonlyArray<Tensor>,
    readonly attrs: A,
    public outputs: Tensor[] = [],
  ) {}
}

export type TensorSource =
  | { readonly kind: 'input'; readonly name: string }
  | { readonly kind: 'const'; readonly data: TypedArray; readonly name?: string }
  | { readonly kind: 'node'; readonly node: Node; readonly index: number };

export class Tensor {
  constructor(
    readonly graph: Graph,
    readonly id: number,
    readonly shape: Shape,
    readonly dtype: DType,
    readonly source: TensorSource,
  ) {}

  get rank(): number {
    return this.shape.length;
  }

  toString(): string {
    return `Tensor#${this.id}${fmtShape(this.shape)}:${this.dtype}`;
  }
}

let nextGraphId = 0;

export class Graph {
  readonly id = nextGraphId++;
  readonly nodes: Node[] = [];
  readonly inputs: Tensor[] = [];
  readonly consts: Tensor[] = [];
  private nextId = 0;

  /** A subgraph (e.g. a loop body) may read tensors of its enclosing graph. */
  constructor(readonly parent?: Graph) {}

  input(name: string, shape: Shape, dtype: DType = 'float32'): Tensor {
    if (this.inputs.some((t) => t.source.kind === 'input' && t.source.name === name)) {
      throw new Error(`graph input '${name}' declared twice`);
    }
    const t = new Tensor(this, this.nextId++, shape, dtype, { kind: 'input', name });
    this.inputs.push(t);
    return t;
  }

  constant(data: TypedArray, shape: Shape, dtype: DType, name?: string): Tensor {
    const t = new Tensor(this, this.nextId++, shape, dtype, { kind: 'const', data, name });
    this.consts.push(t);
    return t;
  }

  apply<A>(op: OpDef<A>, inputs: ReadonlyArray<Tensor>, attrs: A): Tensor[] {
    for (const t of inputs) {
      if (!this.canSee(t)) throw new Error(`${op.type}: input ${t} belongs to another graph`);
    }
    const specs = op.infer(inputs, attrs);
    const node = new Node(this.nodes.length, op, inputs, attrs);
    node.outputs = specs.map((s, index) => new Tensor(this, this.nextId++, s.shape, s.dtype, { kind: 'node', node, index }));
    this.nodes.push(node as Node);
    return node.outputs;
  }

  /** True if t belongs to this graph or to an enclosing one. */
  canSee(t: Tensor): boolean {
    for (let g: Graph | undefined = this; g; g = g.parent) if (t.graph === g) return true;
    return false;
  }
}
