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
});
