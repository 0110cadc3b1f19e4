// Generators of hostile wire messages for the fuzz tests: random bytes, random msgpack, and
// mutations of valid messages (truncation, bit flips, splices, field-level type and value
// changes, corrupted delta payloads, oversize fields).
import { Packr, Unpackr } from 'msgpackr';
import type { Rng } from '../../node/util/rng.js';

const packr = new Packr({ moreTypes: true, useRecords: false, variableMapSize: true });
const unpackr = new Unpackr({ moreTypes: true, useRecords: false, mapsAsObjects: true });

export const pack = (x: unknown): Uint8Array => Uint8Array.from(packr.pack(x));
export const unpack = (b: Uint8Array): unknown => unpackr.unpack(b);

export function randomBytes(rng: Rng, n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = rng.int(256);
  return b;
}

const randomHex = (rng: Rng, n: number) => Array.from({ length: n }, () => '0123456789abcdef'[rng.int(16)]).join('');

/** A value of a random type, biased towards the ones validators get wrong. */
export function randomValue(rng: Rng, depth = 0): unknown {
  const pick = rng.int(depth > 2 ? 16 : 20);
  switch (pick) {
    case 0: return NaN;
    case 1: return Infinity;
    case 2: return -Infinity;
    case 3: return -1;
    case 4: return 2 ** 53 + 2;
    case 5: return 1.5;
    case 6: return '';
    case 7: return 'x'.repeat(1 + rng.int(300));
    case 8: return randomHex(rng, 64);
    case 9: return randomHex(rng, 63).toUpperCase() + 'Z';
    case 10: return null;
    case 11: return rng.next() < 0.5;
    case 12: return randomBytes(rng, rng.int(64));
    case 13: return rng.int(1 << 30);
    case 14: return new Float32Array([NaN, Infinity, 1]);
    case 15: return undefined;
    case 16: return Array.from({ length: rng.int(5) }, () => randomValue(rng, depth + 1));
    case 17: return Object.fromEntries(Array.from({ length: rng.int(5) }, (_, i) => [`k${i}`, randomValue(rng, depth + 1)]));
    case 18: return [[[[[[[[[[[]]]]]]]]]]];
    default: return { __proto__: null, t: 'announce', v: 1 };
  }
}

type Obj = Record<string, unknown>;

/** Paths to every field of a decoded message, nested maps and lists included. */
function paths(o: unknown, prefix: string[] = []): string[][] {
  if (o === null || typeof o !== 'object' || ArrayBuffer.isView(o)) return [];
  const out: string[][] = [];
  for (const k of Object.keys(o as Obj)) {
    out.push([...prefix, k]);
    out.push(...paths((o as Obj)[k], [...prefix, k]));
  }
  return out;
}

function setPath(o: Obj, path: string[], f: (parent: Obj, key: string) => void): void {
  let cur = o;
  for (const k of path.slice(0, -1)) cur = cur[k] as Obj;
  f(cur, path[path.length - 1]);
}

/** Corrupts a delta payload so that it decodes to wrong, non-finite or out-of-range values. */
function corruptPayload(rng: Rng, codec: string, p: Uint8Array): Uint8Array {
  const q = p.slice();
  const dv = new DataView(q.buffer);
  switch (rng.int(6)) {
    case 0: return q.subarray(0, Math.max(0, q.byteLength - 1 - rng.int(8)));
    case 1: {
      const r = new Uint8Array(q.byteLength + 1 + rng.int(8));
      r.set(q);
      return r;
    }
    case 2:
      if (codec === 'int8' && q.byteLength >= 8) dv.setFloat32(4, [NaN, Infinity, -1][rng.int(3)], true);
      else if (codec === 'fp16' && q.byteLength >= 2) dv.setUint16(2 * rng.int(q.byteLength >> 1), 0x7c00 | rng.int(0x3ff), true);
      else if (codec === 'raw' && q.byteLength >= 4) dv.setUint32(4 * rng.int(q.byteLength >> 2), 0x7f800000 ^ dv.getUint32(0, true), true);
      else if (codec === 'topk' && q.byteLength >= 12) dv.setFloat32(q.byteLength - 4, NaN, true);
      return q;
    case 3:
      if (codec === 'topk' && q.byteLength >= 12) dv.setUint32(4, 0xffffffff, true);
      else if (codec === 'int8' && q.byteLength >= 4) dv.setUint32(0, rng.int(2) ? 0 : 1 + rng.int(4096), true);
      else q[rng.int(q.byteLength)] ^= 1 << rng.int(8);
      return q;
    case 4:
      if (codec === 'topk' && q.byteLength >= 16) {
        // Indices out of order.
        const a = dv.getUint32(4, true);
        dv.setUint32(4, dv.getUint32(8, true), true);
        dv.setUint32(8, a, true);
      } else q[rng.int(q.byteLength)] ^= 0xff;
      return q;
    default:
      q[rng.int(q.byteLength)] ^= 1 << rng.int(8);
      return q;
  }
}

export type MutationKind = 'random-bytes' | 'random-msgpack' | 'truncate' | 'flip' | 'splice' | 'field' | 'payload' | 'oversize';
export const MUTATIONS: ReadonlyArray<MutationKind> = ['random-bytes', 'random-msgpack', 'truncate', 'flip', 'splice', 'field', 'payload', 'oversize'];

/** A hostile variant of `base` (an encoded valid message). */
export function mutate(rng: Rng, base: Uint8Array, kind: MutationKind, limit: number): Uint8Array {
  switch (kind) {
    case 'random-bytes':
      return randomBytes(rng, rng.int(rng.next() < 0.1 ? 5000 : 200));
    case 'random-msgpack':
      return pack(rng.next() < 0.7 ? { v: rng.int(3), t: ['hello', 'announce', 'ack', 'have', 'want', 'blob', 'chunk', 'error', 'x'][rng.int(9)], ...(randomValue(rng) as object) } : randomValue(rng));
    case 'truncate':
      return base.slice(0, rng.int(base.byteLength));
    case 'flip': {
      const b = base.slice();
      for (let k = 1 + rng.int(8); k > 0; k--) b[rng.int(b.byteLength)] ^= 1 << rng.int(8);
      return b;
    }
    case 'splice': {
      const at = rng.int(base.byteLength + 1);
      const ins = randomBytes(rng, 1 + rng.int(16));
      const b = new Uint8Array(base.byteLength + ins.byteLength);
      b.set(base.subarray(0, at));
      b.set(ins, at);
      b.set(base.subarray(at), at + ins.byteLength);
      return b;
    }
    case 'field': {
      const o = unpack(base) as Obj;
      const all = paths(o);
      const path = all[rng.int(all.length)];
      setPath(o, path, (parent, key) => {
        const r = rng.next();
        if (r < 0.2) delete parent[key];
        else if (r < 0.3) parent[`${key}_extra`] = randomValue(rng);
        else if (key === 'v') parent[key] = [0, 2, 99, '1', 1.0001][rng.int(5)];
        else if (key === 't') parent[key] = ['helo', 'ANNOUNCE', '', 'chunk', 'want', 'blob'][rng.int(6)];
        else if (key === 'run') parent[key] = ['other-run', 'bad run!', 'a'.repeat(65)][rng.int(3)];
        else parent[key] = randomValue(rng);
      });
      return pack(o);
    }
    case 'payload': {
      const o = unpack(base) as Obj;
      const d = (o.delta ?? o) as Obj;
      const key = o.delta ? 'payload' : o.t === 'chunk' ? 'data' : undefined;
      if (!key || !(d[key] instanceof Uint8Array)) return mutate(rng, base, 'field', limit);
      d[key] = corruptPayload(rng, String(d.codec ?? 'raw'), d[key] as Uint8Array);
      return pack(o);
    }
    case 'oversize': {
      const o = unpack(base) as Obj;
      const size = limit + 1 + rng.int(1024);
      if (rng.next() < 0.5) return pack({ ...o, pad: new Uint8Array(size) });
      const d = (o.delta ?? o) as Obj;
      d[o.delta ? 'payload' : o.t === 'chunk' ? 'data' : 'pad'] = new Uint8Array(size);
      return pack(o);
    }
  }
}
