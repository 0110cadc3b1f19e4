// The simulator counts messages it never encodes: their sizes must be the real encodings'.
import { describe, expect, it } from 'vitest';
import { blobFrameBytes, blobFrames } from '../../node/net/blob.js';
import { PROTOCOL_VERSION } from '../../protocol/constants.js';
import { encodeMessage, encodedSize, type Announce, type BlobHeader } from '../../protocol/messages.js';

// Around each msgpack bin boundary (bin8 < 256 ≤ bin16 < 65536 ≤ bin32) and a model's size.
const SIZES = [0, 1, 255, 256, 257, 65535, 65536, 65537, 120_000, 600_000];

describe('encoded sizes', () => {
  it.each(SIZES)('an announcement with an inline delta of %i bytes and a chunk of that many', (n) => {
    const payload = new Uint8Array(n).map((_, i) => i * 7);
    const ann: Announce = { v: PROTOCOL_VERSION, t: 'announce', run: 'sizes', seq: 70000, hash: 'a'.repeat(64), parent: 'b'.repeat(64), mh: 'c'.repeat(64), n: 118282, metrics: { round: 3, frame: 0 }, delta: { codec: 'int8', base: 'b'.repeat(64), payload } };
    expect(encodedSize(ann)).toBe(encodeMessage(ann).byteLength);
    const { delta: _d, ...bare } = ann;
    expect(encodedSize(bare)).toBe(encodeMessage(bare).byteLength);
    for (const i of [0, 127, 128, 70000]) expect(encodedSize({ t: 'chunk', i, data: payload })).toBe(encodeMessage({ t: 'chunk', i, data: payload }).byteLength);
  });

  it.each(SIZES)('a blob response of %i bytes, framed in chunks', (n) => {
    const payload = new Uint8Array(n);
    const header: BlobHeader = { v: PROTOCOL_VERSION, t: 'blob', run: 'sizes', hash: 'a'.repeat(64), kind: 'deltas', n: 118282, bytes: n, steps: [{ codec: 'int8', base: 'b'.repeat(64), hash: 'a'.repeat(64), bytes: n }] };
    for (const chunk of [1000, 65536, 256 * 1024]) {
      let real = 0;
      for (const f of blobFrames(header, payload, chunk)) real += f.byteLength;
      expect(blobFrameBytes(header, n, chunk)).toBe(real);
    }
  });
});
