// Content addressing: a version is named by the SHA-256 of a domain tag, the canonical JSON
// of the model definition and the little-endian bytes of its float32 parameters.
import { createHash } from 'node:crypto';

/** JSON with object keys sorted at every level, so equal definitions hash equally. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'number' && !Number.isFinite(value)) throw new Error('canonicalJson: non-finite number');
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const keys = Object.keys(value as object).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`).join(',')}}`;
}

const TAG = 'mergemesh/v1';

/** Hash of a model definition alone (the run's architecture). */
export function modelHash(def: unknown): string {
  return createHash('sha256').update(`${TAG}/model\0`).update(canonicalJson(def)).digest('hex');
}

/** Hash of one version: the definition and every parameter bit. */
export function stateHash(def: unknown, params: Float32Array): string {
  return createHash('sha256')
    .update(`${TAG}/state\0`)
    .update(canonicalJson(def))
    .update('\0')
    .update(new Uint8Array(params.buffer, params.byteOffset, params.byteLength))
    .digest('hex');
}

export const HASH_PATTERN = /^[0-9a-f]{64}$/;
