// A delta codec: how the difference between two versions travels. Decoding is pure and
// deterministic, so every receiver reconstructs bit-identical values; for lossy codecs the
// sender announces that reconstruction (not its private state) as the new version.

export type CodecName = 'raw' | 'fp16' | 'int8' | 'topk';
export const CODEC_NAMES: ReadonlyArray<CodecName> = ['raw', 'fp16', 'int8', 'topk'];

/** A payload a receiver must refuse; the reason names the metric it is counted under. */
export class CodecError extends Error {
  constructor(
    readonly reason: 'bad-payload' | 'non-finite',
    message: string,
  ) {
    super(message);
  }
}

export interface EncodeOptions {
  /** int8: values per scale block (default 256). */
  readonly block?: number;
  /** topk: fraction of the entries sent (default 0.1). */
  readonly fraction?: number;
}

export interface DeltaCodec {
  readonly name: CodecName;
  readonly lossless: boolean;
  /** Encodes target − base. */
  encode(base: Float32Array, target: Float32Array, opts?: EncodeOptions): Uint8Array;
  /**
   * encode() and apply() of its payload at once (bit for bit what apply gives): a sender's
   * public copy without decoding its own payload. Lossy codecs that publish every round offer it.
   */
  encodeApply?(base: Float32Array, target: Float32Array, opts?: EncodeOptions): { readonly payload: Uint8Array; readonly values: Float32Array };
  /** base + decoded payload; throws CodecError for a payload that does not fit n values. */
  apply(base: Float32Array, payload: Uint8Array): Float32Array;
  /** Largest |target − apply(base, encode(base, target))| this codec guarantees for delta d. */
  bound(delta: Float32Array, opts?: EncodeOptions): number;
}

export function view(payload: Uint8Array): DataView {
  return new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
}

export function assertFinite(v: Float32Array, what: string): void {
  for (let i = 0; i < v.length; i++) if (!Number.isFinite(v[i])) throw new CodecError('non-finite', `${what}: value ${i} is ${v[i]}`);
}
