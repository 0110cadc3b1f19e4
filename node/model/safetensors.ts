// The safetensors format (8-byte little-endian header length, a JSON header, raw
// little-endian tensor bytes), so model files load in PyTorch (safetensors.torch.load_file)
// and numpy. The model definition travels in the header's __metadata__.
import { readFileSync, writeFileSync } from 'node:fs';
import { parseModelDef, type ModelDef } from './def.js';
import type { Layout } from './layout.js';
import { createModel, type Model } from './model.js';

const META_MODEL = 'mergemesh.model';
/** Refuse headers larger than this: a corrupt length must not allocate gigabytes. */
const MAX_HEADER = 64 * 1024 * 1024;

export interface SafetensorsEntry {
  readonly dtype: string;
  readonly shape: ReadonlyArray<number>;
  readonly data_offsets: readonly [number, number];
}

/** Serialises weights laid out by `layout` (every entry as an F32 tensor). */
export function encodeSafetensors(layout: Layout, weights: Float32Array, metadata: Record<string, string>): Uint8Array {
  if (weights.length !== layout.totalSize) throw new Error(`safetensors: ${weights.length} values for a layout of ${layout.totalSize}`);
  const header: Record<string, unknown> = { __metadata__: metadata };
  for (const e of layout.entries) header[e.name] = { dtype: 'F32', shape: e.shape, data_offsets: [e.offset * 4, (e.offset + e.size) * 4] };
  let json = JSON.stringify(header);
  // Pad with spaces so the data starts 8-byte aligned (as the reference implementation does).
  json += ' '.repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8);
  const head = Buffer.from(json, 'utf8');
  const out = new Uint8Array(8 + head.length + weights.byteLength);
  new DataView(out.buffer).setBigUint64(0, BigInt(head.length), true);
  out.set(head, 8);
  out.set(new Uint8Array(weights.buffer, weights.byteOffset, weights.byteLength), 8 + head.length);
  return out;
}

export interface DecodedSafetensors {
  readonly metadata: Record<string, string>;
  readonly tensors: ReadonlyMap<string, { shape: number[]; data: Float32Array }>;
}

/** Parses a safetensors file with F32 tensors, validating every offset against the data. */
export function decodeSafetensors(bytes: Uint8Array, what = 'safetensors file'): DecodedSafetensors {
  const fail = (why: string): never => {
    throw new Error(`${what}: ${why}`);
  };
  if (bytes.length < 8) fail('too short to be a safetensors file');
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
  if (n > MAX_HEADER || 8 + n > bytes.length) fail(`header length ${n} does not fit the file (${bytes.length} bytes)`);
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(Buffer.from(bytes.subarray(8, 8 + n)).toString('utf8')) as Record<string, unknown>;
  } catch {
    return fail('header is not valid JSON');
  }
  const dataStart = 8 + n;
  const dataLen = bytes.length - dataStart;
  const metadata = (header.__metadata__ ?? {}) as Record<string, string>;
  const tensors = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const [name, raw] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const e = raw as Partial<SafetensorsEntry>;
    if (e.dtype !== 'F32') fail(`tensor '${name}' has dtype ${String(e.dtype)} (only F32 is supported)`);
    const shape = e.shape;
    const off = e.data_offsets;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) fail(`tensor '${name}' has a bad shape`);
    if (!Array.isArray(off) || off.length !== 2 || !(off[0] >= 0 && off[1] >= off[0] && off[1] <= dataLen)) fail(`tensor '${name}' has bad data offsets`);
    const count = (shape as number[]).reduce((a, b) => a * b, 1);
    if (off![1] - off![0] !== count * 4) fail(`tensor '${name}': ${off![1] - off![0]} bytes for ${count} float32 values`);
    // Copy into an aligned buffer: the file's offsets need not be 4-byte aligned in memory.
    const data = new Float32Array(count);
    new Uint8Array(data.buffer).set(bytes.subarray(dataStart + off![0], dataStart + off![1]));
    tensors.set(name, { shape: shape as number[], data });
  }
  return { metadata, tensors };
}

export interface ModelFile {
  readonly model: Model;
  readonly weights: Float32Array;
  readonly metadata: Record<string, string>;
}

export function saveModelFile(path: string, model: Model, weights: Float32Array, metadata: Record<string, string> = {}): void {
  writeFileSync(path, encodeSafetensors(model.layout, weights, { [META_MODEL]: JSON.stringify(model.def), format: 'pt', ...metadata }));
}

/** Reads a mergemesh safetensors file: the model comes from its metadata, weights are checked against it. */
export function loadModelFile(path: string): ModelFile {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new Error(`cannot read model file ${path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
  const { metadata, tensors } = decodeSafetensors(bytes, path);
  const defJson = metadata[META_MODEL];
  if (!defJson) throw new Error(`${path}: not a mergemesh model file (no '${META_MODEL}' in its metadata)`);
  let def: ModelDef;
  try {
    def = parseModelDef(JSON.parse(defJson));
  } catch (e) {
    throw new Error(`${path}: ${(e as Error).message}`);
  }
  const model = createModel(def);
  const weights = new Float32Array(model.layout.totalSize);
  for (const e of model.layout.entries) {
    const t = tensors.get(e.name);
    if (!t) throw new Error(`${path}: tensor '${e.name}' is missing`);
    if (t.shape.length !== e.shape.length || t.shape.some((d, i) => d !== e.shape[i])) {
      throw new Error(`${path}: tensor '${e.name}' has shape [${t.shape}], the model needs [${e.shape}]`);
    }
    weights.set(t.data, e.offset);
  }
  if (tensors.size !== model.layout.entries.length) throw new Error(`${path}: has ${tensors.size} tensors, the model has ${model.layout.entries.length}`);
  return { model, weights, metadata };
}
