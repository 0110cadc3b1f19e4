// int8: the delta in blocks of B values, each block a float32 scale s = max|d|/127 and one
// signed byte per value (round to nearest). About 1 + 4/B bytes per parameter; error ≤ s/2
// per value, i.e. ≤ max|d in its block|/254.
// Layout: uint32 B | ⌈n/B⌉ float32 scales | n int8 values (little-endian).
import { CodecError, assertFinite, view, type DeltaCodec } from './codec.js';

export const int8: DeltaCodec = {
  name: 'int8',
  lossless: false,
  encode: (base, target, opts = {}) => quantize(base, target, opts.block ?? 256),
  encodeApply(base, target, opts = {}) {
    const values = new Float32Array(base.length);
    return { payload: quantize(base, target, opts.block ?? 256, values), values };
  },
  apply(base, payload) {
    const n = base.length;
    if (payload.byteLength < 4) throw new CodecError('bad-payload', 'int8: payload too short');
    const dv = view(payload);
    const block = dv.getUint32(0, true);
    if (block < 1) throw new CodecError('bad-payload', 'int8: block size 0');
    const blocks = Math.ceil(n / block);
    if (payload.byteLength !== 4 + 4 * blocks + n) throw new CodecError('bad-payload', `int8: ${payload.byteLength} bytes for ${n} values in blocks of ${block}`);
    const out = new Float32Array(n);
    const q = new Int8Array(payload.buffer, payload.byteOffset + 4 + 4 * blocks, n);
    for (let b = 0; b < blocks; b++) {
      const s = dv.getFloat32(4 + 4 * b, true);
      if (!Number.isFinite(s) || s < 0) throw new CodecError('non-finite', `int8: scale ${b} is ${s}`);
      const lo = b * block;
      const hi = Math.min(n, lo + block);
      // The one reconstruction formula; quantize's `next` repeats it exactly.
      for (let i = lo; i < hi; i++) out[i] = base[i] + s * q[i];
    }
    assertFinite(out, 'int8');
    return out;
  },
  bound(d, opts = {}) {
    const block = opts.block ?? 256;
    let b = 0;
    let big = 0;
    for (let lo = 0; lo < d.length; lo += block) {
      let m = 0;
      for (let i = lo; i < Math.min(d.length, lo + block); i++) m = Math.max(m, Math.abs(d[i]));
      b = Math.max(b, m / 254);
      big = Math.max(big, m);
    }
    // Plus float32 rounding of the scale, the product and the sum.
    return b * (1 + 2 ** -20) + 2 ** -22 * big;
  },
};

// A block's differences, computed once for its scale and its bytes (blocks up to 4096 values).
const diffs = new Float64Array(4096);

/**
 * target − base in blocks; with `next`, also writes what apply() will rebuild from the payload
 * (the same float32 scale, the same byte, the same formula), so a publisher gets its public
 * copy without decoding its own payload.
 */
function quantize(base: Float32Array, target: Float32Array, block: number, next?: Float32Array): Uint8Array {
  if (!Number.isInteger(block) || block < 1 || block > 1 << 20) throw new Error(`int8: bad block size ${block}`);
  const n = base.length;
  const blocks = Math.ceil(n / block);
  const out = new Uint8Array(4 + 4 * blocks + n);
  const dv = view(out);
  dv.setUint32(0, block, true);
  const q = new Int8Array(out.buffer, 4 + 4 * blocks, n);
  const d = block <= diffs.length ? diffs : new Float64Array(block);
  for (let b = 0; b < blocks; b++) {
    const lo = b * block;
    const len = Math.min(n, lo + block) - lo;
    let m = 0;
    for (let k = 0; k < len; k++) {
      const x = target[lo + k] - base[lo + k];
      d[k] = x;
      m = Math.max(m, Math.abs(x));
    }
    const s = Math.fround(m / 127);
    dv.setFloat32(4 + 4 * b, s, true);
    if (s === 0) {
      if (next) for (let k = 0; k < len; k++) next[lo + k] = base[lo + k] + s * q[lo + k];
      continue;
    }
    // Two loops rather than a test per value: this is the publisher's hot loop.
    if (next) {
      for (let k = 0; k < len; k++) {
        const r = quantum(d[k] / s);
        q[lo + k] = r;
        // apply's formula with the byte just written (r is an integer, never −0).
        next[lo + k] = base[lo + k] + s * r;
      }
    } else for (let k = 0; k < len; k++) q[lo + k] = quantum(d[k] / s);
  }
  return out;
}

/** Round to nearest (halves up) and clamp to ±127. */
function quantum(x: number): number {
  // Math.round without its data-dependent branch (it cost 12 ns a value here): floor(x + 0.5)
  // equals it for every double but 0.5 − 2⁻⁵⁴, where x + 0.5 rounds up to 1.
  const f = x === 0.49999999999999994 ? 0 : Math.floor(x + 0.5);
  // |x| ≤ 127 up to the rounding of s, so these never fire; as branches they cost nothing.
  return f > 127 ? 127 : f < -127 ? -127 : f;
}
