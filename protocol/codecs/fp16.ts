// fp16: the delta rounded to IEEE half precision (round to nearest even), two bytes per
// parameter. Error ≤ |d|·2⁻¹¹ for |d| in half's normal range, ≤ 2⁻²⁵ below it; deltas beyond
// ±65504 are clamped (error feedback sends the rest in later versions).
import { CodecError, assertFinite, type DeltaCodec } from './codec.js';

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

export function toHalf(x: number): number {
  f32[0] = x;
  const bits = u32[0];
  const sign = (bits >>> 16) & 0x8000;
  const exp = ((bits >>> 23) & 0xff) - 127 + 15;
  let mant = bits & 0x7fffff;
  if (exp >= 31) return sign | 0x7bff; // clamp to ±65504
  if (exp <= 0) {
    if (exp < -10) return sign; // rounds to zero
    mant |= 0x800000;
    const shift = 14 - exp;
    let half = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    if (rem > mid || (rem === mid && half & 1)) half++;
    return sign | half;
  }
  let half = (exp << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && half & 1)) half++;
  if ((half & 0x7c00) === 0x7c00) return sign | 0x7bff;
  return sign | half;
}

const HALF_TO_FLOAT = (() => {
  const t = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const s = h & 0x8000 ? -1 : 1;
    const e = (h >>> 10) & 0x1f;
    const m = h & 0x3ff;
    t[h] = e === 0 ? s * m * 2 ** -24 : e === 31 ? (m ? NaN : s * Infinity) : s * (1 + m / 1024) * 2 ** (e - 15);
  }
  return t;
})();

export const fp16: DeltaCodec = {
  name: 'fp16',
  lossless: false,
  encode(base, target) {
    const out = new Uint16Array(base.length);
    for (let i = 0; i < out.length; i++) out[i] = toHalf(target[i] - base[i]);
    return new Uint8Array(out.buffer);
  },
  apply(base, payload) {
    if (payload.byteLength !== base.length * 2) throw new CodecError('bad-payload', `fp16: ${payload.byteLength} bytes for ${base.length} values`);
    const dv = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
    const out = new Float32Array(base.length);
    for (let i = 0; i < out.length; i++) {
      const h = dv.getUint16(2 * i, true);
      if ((h & 0x7c00) === 0x7c00) throw new CodecError('non-finite', `fp16: value ${i} is not finite`);
      out[i] = base[i] + HALF_TO_FLOAT[h];
    }
    assertFinite(out, 'fp16');
    return out;
  },
  bound(d) {
    let b = 0;
    for (const x of d) {
      const a = Math.abs(x);
      b = Math.max(b, a > 65504 ? a - 65504 : Math.max(a * 2 ** -11, 2 ** -25));
    }
    // The addition base + δ rounds once more in float32.
    return b * (1 + 2 ** -23) + 2 ** -24 * maxMagnitude(d);
  },
};

function maxMagnitude(d: Float32Array): number {
  let m = 0;
  for (const x of d) m = Math.max(m, Math.abs(x));
  return m;
}
