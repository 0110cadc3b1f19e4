// topk: only the k largest-magnitude entries of the delta, as (index, float32 value) pairs
// with strictly increasing indices. Error: every unsent entry keeps its delta, so it is at
// most the (k+1)-th largest |d|; with error feedback those entries are sent later.
// Layout: uint32 k | k uint32 indices | k float32 values (little-endian).
import { CodecError, assertFinite, view, type DeltaCodec, type EncodeOptions } from './codec.js';

function kOf(n: number, opts: EncodeOptions): number {
  const f = opts.fraction ?? 0.1;
  if (!(f > 0 && f <= 1)) throw new Error(`topk: fraction must be in (0, 1], got ${f}`);
  return Math.max(1, Math.min(n, Math.round(f * n)));
}

/** The value with exactly `k` larger-or-equal entries in `a` (a is reordered). */
function kthLargest(a: Float32Array, k: number): number {
  let lo = 0;
  let hi = a.length - 1;
  const target = k - 1;
  while (lo < hi) {
    const pivot = a[(lo + hi) >>> 1];
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i] > pivot) i++;
      while (a[j] < pivot) j--;
      if (i <= j) {
        const t = a[i];
        a[i] = a[j];
        a[j] = t;
        i++;
        j--;
      }
    }
    if (target <= j) hi = j;
    else if (target >= i) lo = i;
    else break;
  }
  return a[target];
}

export const topk: DeltaCodec = {
  name: 'topk',
  lossless: false,
  encode(base, target, opts = {}) {
    const n = base.length;
    const k = kOf(n, opts);
    const mag = new Float32Array(n);
    for (let i = 0; i < n; i++) mag[i] = Math.abs(target[i] - base[i]);
    const threshold = kthLargest(mag.slice(), k);
    const out = new Uint8Array(4 + 8 * k);
    const dv = view(out);
    dv.setUint32(0, k, true);
    // Entries above the threshold first, then ties at it, up to k, in index order.
    let taken = 0;
    let above = 0;
    for (let i = 0; i < n; i++) if (mag[i] > threshold) above++;
    let ties = k - above;
    for (let i = 0; i < n && taken < k; i++) {
      if (mag[i] > threshold || (mag[i] === threshold && ties-- > 0)) {
        dv.setUint32(4 + 4 * taken, i, true);
        dv.setFloat32(4 + 4 * k + 4 * taken, target[i] - base[i], true);
        taken++;
      }
    }
    return out;
  },
  apply(base, payload) {
    const n = base.length;
    if (payload.byteLength < 4) throw new CodecError('bad-payload', 'topk: payload too short');
    const dv = view(payload);
    const k = dv.getUint32(0, true);
    if (k > n || payload.byteLength !== 4 + 8 * k) throw new CodecError('bad-payload', `topk: ${payload.byteLength} bytes for k=${k} of ${n} values`);
    const out = base.slice();
    let prev = -1;
    for (let t = 0; t < k; t++) {
      const i = dv.getUint32(4 + 4 * t, true);
      if (i <= prev || i >= n) throw new CodecError('bad-payload', `topk: index ${i} out of order or range`);
      prev = i;
      const v = dv.getFloat32(4 + 4 * k + 4 * t, true);
      if (!Number.isFinite(v)) throw new CodecError('non-finite', `topk: value for index ${i} is ${v}`);
      out[i] = base[i] + v;
    }
    assertFinite(out, 'topk');
    return out;
  },
  bound(d, opts = {}) {
    const k = kOf(d.length, opts);
    const mag = Float32Array.from(d, Math.abs);
    let big = 0;
    for (const x of mag) big = Math.max(big, x);
    // Plus float32 rounding of base + δ for the entries sent.
    return (k >= d.length ? 0 : kthLargest(mag, k + 1)) + 2 ** -24 * big;
  },
};
