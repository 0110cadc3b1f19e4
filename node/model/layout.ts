// The flat parameter vector: one Float32Array per model, every tensor a named view into it.
// Trainable parameters come first and buffers (running statistics) after, so an optimiser
// works on one contiguous prefix and a delta or a hash covers everything.

export type InitSpec =
  | { readonly kind: 'uniform'; readonly bound: number }
  | { readonly kind: 'normal'; readonly std: number }
  | { readonly kind: 'const'; readonly value: number };

export interface ParamDecl {
  readonly name: string;
  readonly shape: ReadonlyArray<number>;
  /** 'buffer' entries are state updated outside the gradient (e.g. BatchNorm running stats). */
  readonly kind: 'param' | 'buffer';
  readonly init: InitSpec;
}

export interface LayoutEntry extends ParamDecl {
  readonly offset: number;
  readonly size: number;
}

export interface Layout {
  readonly entries: ReadonlyArray<LayoutEntry>;
  /** Elements in the trainable prefix. */
  readonly paramSize: number;
  readonly bufferSize: number;
  readonly totalSize: number;
  entry(name: string): LayoutEntry;
}

export function createLayout(decls: ReadonlyArray<ParamDecl>): Layout {
  const ordered = [...decls.filter((d) => d.kind === 'param'), ...decls.filter((d) => d.kind === 'buffer')];
  const seen = new Set<string>();
  let offset = 0;
  const entries = ordered.map((d) => {
    if (seen.has(d.name)) throw new Error(`layout: duplicate tensor name '${d.name}'`);
    seen.add(d.name);
    const size = d.shape.reduce((a, b) => a * b, 1);
    const e: LayoutEntry = { ...d, offset, size };
    offset += size;
    return e;
  });
  const byName = new Map(entries.map((e) => [e.name, e]));
  const paramSize = entries.filter((e) => e.kind === 'param').reduce((a, e) => a + e.size, 0);
  return {
    entries,
    paramSize,
    bufferSize: offset - paramSize,
    totalSize: offset,
    entry(name) {
      const e = byName.get(name);
      if (!e) throw new Error(`layout: no tensor named '${name}'`);
      return e;
    },
  };
}

/** A named view (no copy) into a flat vector. */
export function view(layout: Layout, flat: Float32Array, name: string): Float32Array {
  const e = layout.entry(name);
  return flat.subarray(e.offset, e.offset + e.size);
}
