// ONNX models as plain data. The compiler lowers our graphs to this form; the encoder
// writes it as protobuf. Keeping it as data makes lowered graphs easy to inspect and test.
import type { DType, TypedArray } from '../dtype.js';

export type OnnxAttr =
  | { readonly f: number }
  | { readonly i: number | bigint }
  | { readonly s: string }
  | { readonly ints: ReadonlyArray<number | bigint> }
  | { readonly floats: ReadonlyArray<number> }
  | { readonly t: OnnxTensor }
  | { readonly g: OnnxGraph };

export interface OnnxNode {
  readonly op: string;
  readonly inputs: ReadonlyArray<string>;
  readonly outputs: ReadonlyArray<string>;
  readonly name?: string;
  readonly domain?: string;
  readonly attrs?: Readonly<Record<string, OnnxAttr>>;
}

/** A dimension is a fixed size or a symbolic name (e.g. 'N' for a dynamic batch). */
export type OnnxDim = number | string;

export interface OnnxValueInfo {
  readonly name: string;
  readonly dtype: DType;
  readonly shape: ReadonlyArray<OnnxDim>;
}

export interface OnnxTensor {
  readonly name: string;
  readonly dtype: DType;
  readonly dims: ReadonlyArray<number>;
  readonly data: TypedArray;
}

export interface OnnxGraph {
  readonly name: string;
  readonly nodes: ReadonlyArray<OnnxNode>;
  readonly inputs: ReadonlyArray<OnnxValueInfo>;
  readonly outputs: ReadonlyArray<OnnxValueInfo>;
  readonly initializers?: ReadonlyArray<OnnxTensor>;
  readonly valueInfo?: ReadonlyArray<OnnxValueInfo>;
}

export interface OnnxOpset {
  readonly domain: string;
  readonly version: number;
}

export interface OnnxModel {
  readonly graph: OnnxGraph;
  /** Opsets; the default domain '' must be present. */
  readonly opsets: ReadonlyArray<OnnxOpset>;
  readonly irVersion?: number;
  readonly producerName?: string;
  readonly producerVersion?: string;
  readonly docString?: string;
  readonly metadata?: Readonly<Record<string, string>>;
}

/** The opset our compiler targets: 18 has axes-as-input for every Reduce op and LayerNormalization. */
export const DEFAULT_OPSET = 18;

/** IR version that goes with an opset (ONNX's versioning table). */
export function irVersionFor(opset: number): number {
  if (opset <= 8) return 3;
  if (opset <= 10) return 5;
  if (opset <= 11) return 6;
  if (opset <= 14) return 7;
  if (opset <= 18) return 8;
  if (opset <= 20) return 9;
  return 10;
}
