// Static shape algebra. A dimension of -1 stands for a dynamic (batch) size, which only
// inference graphs may carry; graphs that are differentiated must be fully static.

export type Shape = ReadonlyArray<number>;

export const DYN = -1;

export function numel(shape: Shape): number {
  let n = 1;
  for (const d of shape) {
    if (d < 0) throw new Error(`numel of a dynamic shape [${shape.join(', ')}]`);
    n *= d;
  }
  return n;
}

export function isStatic(shape: Shape): boolean {
  return shape.every((d) => d >= 0);
}

export function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** NumPy-style broadcast of two shapes. */
export function broadcastShapes(a: Shape, b: Shape): number[] {
  const n = Math.max(a.length, b.length);
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const da = a[a.length - n + i] ?? 1;
    const db = b[b.length - n + i] ?? 1;
    if (da === db || db === 1) out[i] = da;
    else if (da === 1) out[i] = db;
    else if (da === DYN || db === DYN) out[i] = DYN;
    else throw new Error(`shapes [${a.join(', ')}] and [${b.join(', ')}] do not broadcast`);
  }
  return out;
}

/** Normalises a possibly negative axis against a rank. */
export function normAxis(axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) throw new Error(`axis ${axis} out of range for rank ${rank}`);
  return a;
}

export function fmtShape(s: Shape): string {
  return `[${s.map((d) => (d === DYN ? 'N' : String(d))).join(', ')}]`;
}
