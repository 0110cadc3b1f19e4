// Turning numbers into constants and checking operands; shared by every op file.
import type { DType } from '../dtype.js';
import { Graph, Tensor } from '../graph.js';

export type Operand = Tensor | number;

/** The innermost graph among the tensors: constants made for numbers land there. */
export function graphOf(...xs: ReadonlyArray<Operand>): Graph {
  let g: Graph | undefined;
  for (const x of xs) if (x instanceof Tensor) g = g ? deeper(g, x.graph) : x.graph;
  if (!g) throw new Error('an op needs at least one tensor operand');
  return g;
}

/** b if a encloses b, else a (unrelated graphs are rejected later by Graph.apply). */
function deeper(a: Graph, b: Graph): Graph {
  for (let h: Graph | undefined = b; h; h = h.parent) if (h === a) return b;
  return a;
}

export function scalarConst(g: Graph, value: number, dtype: DType): Tensor {
  const data =
    dtype === 'float32'
      ? Float32Array.of(value)
      : dtype === 'float64'
        ? Float64Array.of(value)
        : dtype === 'int64'
          ? BigInt64Array.of(BigInt(value))
          : dtype === 'int32'
            ? Int32Array.of(value)
            : undefined;
  if (!data) throw new Error(`no scalar constants of dtype ${dtype}`);
  return g.constant(data, [], dtype);
}

/** Converts numbers to scalar constants whose dtype matches the first tensor operand. */
export function operands(...xs: ReadonlyArray<Operand>): Tensor[] {
  const g = graphOf(...xs);
  const ref = xs.find((x): x is Tensor => x instanceof Tensor)!;
  return xs.map((x) => (x instanceof Tensor ? x : scalarConst(g, x, ref.dtype)));
}
