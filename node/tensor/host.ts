// Tensors that live in JS memory: what goes into and comes out of a compiled graph.
import type { DType, TypedArray } from './dtype.js';

export interface HostTensor {
  readonly dtype: DType;
  readonly dims: ReadonlyArray<number>;
  readonly data: TypedArray;
}

export type HostFeeds = Readonly<Record<string, HostTensor>>;
export type HostOutputs = Record<string, HostTensor>;

export const f32 = (data: Float32Array, dims: ReadonlyArray<number>): HostTensor => ({ dtype: 'float32', dims, data });
export const i64 = (data: BigInt64Array, dims: ReadonlyArray<number>): HostTensor => ({ dtype: 'int64', dims, data });

/** Float32 data of an output, with a clear error if the graph returned something else. */
export function asF32(t: HostTensor | undefined, what: string): Float32Array {
  if (!t || !(t.data instanceof Float32Array)) throw new Error(`expected float32 output '${what}'`);
  return t.data;
}
