// The publisher's own checks: what it refuses to publish, and that a refusal stores nothing.
import { describe, expect, it } from 'vitest';
import { CODEC_NAMES } from '../../protocol/codecs/index.js';
import { createPublisher } from '../../protocol/versions.js';
import { createRng } from '../../node/util/rng.js';

const MODEL = { kind: 'test', n: 600 };

describe('publisher', () => {
  it.each(CODEC_NAMES)('%s: a non-finite parameter is refused by index, first version or delta, and nothing is stored', (codec) => {
    const rng = createRng(3);
    const pub = createPublisher({ run: 'pub-test', model: MODEL, codec });
    const good = Float32Array.from({ length: 600 }, () => rng.normal());
    for (const bad of [NaN, Infinity, -Infinity]) {
      const v = good.slice();
      v[417] = bad;
      if (!pub.head()) expect(() => pub.publish(v)).toThrow(`publish: parameter 417 is ${bad}`);
      expect(pub.head()).toBeUndefined();
    }
    const first = pub.publish(good);
    const next = Float32Array.from(good, (x) => x + 0.01 * rng.normal());
    for (const bad of [NaN, Infinity, -Infinity]) {
      const v = next.slice();
      v[417] = bad;
      expect(() => pub.publish(v)).toThrow(`publish: parameter 417 is ${bad}`);
      expect(pub.head()?.hash).toBe(first.version.hash);
    }
    const second = pub.publish(next);
    expect(second.version.parent).toBe(first.version.hash);
    expect(second.error).toBeGreaterThanOrEqual(0);
    expect(Number.isFinite(second.error)).toBe(true);
  });

  it('stage changes nothing; commit publishes what publish would; a version staged on an old head is refused', () => {
    const rng = createRng(4);
    const vs = Array.from({ length: 3 }, () => Float32Array.from({ length: 600 }, () => rng.normal()));
    const a = createPublisher({ run: 'pub-test', model: MODEL, codec: 'int8' });
    const b = createPublisher({ run: 'pub-test', model: MODEL, codec: 'int8' });
    const pa = vs.map((v) => a.publish(v, { round: 1 }));
    const stale = b.stage(vs[0]);
    for (const [i, v] of vs.entries()) {
      const staged = b.stage(v);
      expect(b.stage(v).hash).toBe(staged.hash);
      expect(b.head()?.hash ?? null).toBe(i ? pa[i - 1].version.hash : null);
      const pb = b.commit(staged, { round: 1 });
      expect(pb.version.hash).toBe(pa[i].version.hash);
      expect(pb.announce).toEqual(pa[i].announce);
    }
    expect(() => b.commit(stale)).toThrow('staged on another head');
    expect(b.head()?.hash).toBe(pa[2].version.hash);
  });
});
