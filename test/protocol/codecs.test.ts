// Delta codecs: exactness of the lossless one, stated error bounds of the lossy ones, and
// error feedback (the sender tracks the receivers' reconstruction) keeping drift bounded.
import { describe, expect, it } from 'vitest';
import { CODECS, CODEC_NAMES, CodecError } from '../../protocol/codecs/index.js';
import { toHalf } from '../../protocol/codecs/fp16.js';
import { createRng } from '../../node/util/rng.js';

const rand = (n: number, seed: number, scale = 1) => {
  const r = createRng(seed);
  return Float32Array.from({ length: n }, () => r.normal() * scale);
};

describe('codecs', () => {
  it('raw is bit-exact, including signed zeros and subnormals', () => {
    const base = rand(1000, 1);
    const target = rand(1000, 2);
    target[3] = -0;
    target[4] = 1e-40;
    const out = CODECS.raw.apply(base, CODECS.raw.encode(base, target));
    expect(Buffer.compare(Buffer.from(out.buffer), Buffer.from(target.buffer))).toBe(0);
  });

  it.each(['fp16', 'int8', 'topk'] as const)('%s stays within its stated bound, and decoding is deterministic', (name) => {
    const c = CODECS[name];
    for (const scale of [1e-4, 0.01, 1, 300]) {
      const base = rand(5000, 3, 0.1);
      const noise = rand(5000, 4, scale);
      const target = Float32Array.from(base, (x, i) => x + noise[i]);
      const d = Float32Array.from(target, (x, i) => x - base[i]);
      const payload = c.encode(base, target);
      const out = c.apply(base, payload);
      let err = 0;
      for (let i = 0; i < out.length; i++) err = Math.max(err, Math.abs(out[i] - target[i]));
      expect(err, `${name} at scale ${scale}`).toBeLessThanOrEqual(c.bound(d));
      expect(Buffer.compare(Buffer.from(c.apply(base, payload).buffer), Buffer.from(out.buffer))).toBe(0);
    }
  });

  it('int8 encodeApply gives the payload of encode and bit for bit what apply rebuilds from it', () => {
    const c = CODECS.int8;
    for (const [n, block] of [[5000, 256], [1001, 64], [7, 256]] as const) {
      const base = rand(n, 5, 0.1);
      // The second block's delta is all zero (scale 0), and holds a signed zero: apply turns −0 + 0 into +0.
      const target = Float32Array.from(base, (x, i) => (i >= block && i < 2 * block ? x : x + 0.01 * Math.sin(i)));
      if (n > 2 * block) base[block] = target[block] = -0;
      const { payload, values } = c.encodeApply!(base, target, { block });
      const bytes = (x: Float32Array | Uint8Array) => Buffer.from(x.buffer, x.byteOffset, x.byteLength);
      expect(bytes(payload).equals(bytes(c.encode(base, target, { block })))).toBe(true);
      expect(bytes(values).equals(bytes(c.apply(base, payload)))).toBe(true);
      expect(values.some((x, i) => x !== base[i])).toBe(true);
    }
  });

  it('fp16 rounds to nearest even and clamps out-of-range deltas', () => {
    expect(toHalf(1)).toBe(0x3c00);
    expect(toHalf(-2)).toBe(0xc000);
    expect(toHalf(65504)).toBe(0x7bff);
    expect(toHalf(1e6)).toBe(0x7bff);
    expect(toHalf(2 ** -24)).toBe(1);
    expect(toHalf(1 + 2 ** -11)).toBe(0x3c00); // tie → even
    expect(toHalf(1 + 3 * 2 ** -11)).toBe(0x3c02);
  });

  it('sizes: int8 ≈ 0.254× and topk(0.1) ≈ 0.2× of float32', () => {
    const n = 100_000;
    const base = rand(n, 5);
    const target = rand(n, 6);
    expect(CODECS.raw.encode(base, target).byteLength / (4 * n)).toBe(1);
    expect(CODECS.fp16.encode(base, target).byteLength / (4 * n)).toBe(0.5);
    expect(CODECS.int8.encode(base, target).byteLength / (4 * n)).toBeLessThan(0.255);
    expect(CODECS.topk.encode(base, target).byteLength / (4 * n)).toBeCloseTo(0.2, 3);
  });

  it.each(['fp16', 'int8', 'topk'] as const)('%s with error feedback: the public copy tracks a moving model over 50 versions without drift', (name) => {
    const c = CODECS[name];
    const n = 20_000;
    const r = createRng(7);
    const x = rand(n, 8, 0.05); // the sender's private model
    let pub = x.slice(); // version 0 is sent in full
    const errs: number[] = [];
    for (let v = 1; v <= 50; v++) {
      for (let i = 0; i < n; i++) x[i] += r.normal() * 1e-3; // a training step
      // Error feedback: encode against what receivers hold, so residuals are sent later.
      const d = Float32Array.from(x, (xi, i) => xi - pub[i]);
      pub = c.apply(pub, c.encode(pub, x));
      let err = 0;
      for (let i = 0; i < n; i++) err = Math.max(err, Math.abs(x[i] - pub[i]));
      expect(err).toBeLessThanOrEqual(c.bound(d));
      errs.push(err);
    }
    // Bounded, not growing: the last ten versions are no worse than the first ten.
    const mean = (a: number[]) => a.reduce((s, e) => s + e, 0) / a.length;
    expect(mean(errs.slice(-10))).toBeLessThanOrEqual(mean(errs.slice(0, 10)) * 1.5 + 1e-6);
  });

  it('without error feedback the same lossy chain drifts (the control)', () => {
    const c = CODECS.int8;
    const n = 20_000;
    const r = createRng(7);
    const x = rand(n, 8, 0.05);
    let naive = x.slice(); // receiver of quantised steps x_v − x_{v−1}
    let fed = x.slice(); // receiver of quantised x_v − (what it holds)
    let prev = x.slice();
    for (let v = 1; v <= 50; v++) {
      for (let i = 0; i < n; i++) x[i] += r.normal() * 1e-3;
      const step = c.apply(new Float32Array(n), c.encode(prev, x));
      naive = naive.map((y, i) => y + step[i]);
      fed = c.apply(fed, c.encode(fed, x));
      prev = x.slice();
    }
    const maxErr = (y: Float32Array) => y.reduce((m, yi, i) => Math.max(m, Math.abs(yi - x[i])), 0);
    expect(maxErr(naive)).toBeGreaterThan(3 * maxErr(fed));
  });

  it.each(CODEC_NAMES)('%s rejects payloads of the wrong length with a reason', (name) => {
    const base = rand(100, 1);
    expect(() => CODECS[name].apply(base, new Uint8Array(3))).toThrow(CodecError);
    try {
      CODECS[name].apply(base, new Uint8Array(3));
    } catch (e) {
      expect((e as CodecError).reason).toBe('bad-payload');
    }
  });
});
