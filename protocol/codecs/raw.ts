// raw: the XOR of the float32 bit patterns. Lossless (target is recovered bit for bit) and
// four bytes per parameter.
import { CodecError, assertFinite, type DeltaCodec } from './codec.js';

export const raw: DeltaCodec = {
  name: 'raw',
  lossless: true,
  encode(base, target) {
    const a = new Uint32Array(base.buffer, base.byteOffset, base.length);
    const b = new Uint32Array(target.buffer, target.byteOffset, target.length);
    const out = new Uint32Array(base.length);
    for (let i = 0; i < out.length; i++) out[i] = a[i] ^ b[i];
    return new Uint8Array(out.buffer);
  },
  apply(base, payload) {
    if (payload.byteLength !== base.length * 4) throw new CodecError('bad-payload', `raw: ${payload.byteLength} bytes for ${base.length} values`);
    const out = new Float32Array(base.length);
    const o = new Uint32Array(out.buffer);
    const a = new Uint32Array(base.buffer, base.byteOffset, base.length);
    const dv = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
    for (let i = 0; i < o.length; i++) o[i] = a[i] ^ dv.getUint32(4 * i, true);
    assertFinite(out, 'raw');
    return out;
  },
  bound: () => 0,
};
