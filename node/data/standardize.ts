// Standardised inputs: x = (pixel/255 − mean)/std with the training split's pixel statistics.
// The default is pixel/255 (PyTorch's ToTensor); research code often standardises, and
// alignment-based merging under disjoint labels depends on it (docs/agents.md).
import type { Dataset } from './dataset.js';

export interface PixelStats {
  /** Mean and standard deviation of pixel/255 over every pixel of the split. */
  readonly mean: number;
  readonly std: number;
}

export function pixelStats(ds: Dataset): PixelStats {
  // Byte histogram: exact, and one pass of integer increments over tens of millions of pixels.
  const hist = new Float64Array(256);
  for (const p of ds.images) hist[p]++;
  let n = 0, s = 0, s2 = 0;
  for (let v = 0; v < 256; v++) {
    const x = v / 255;
    n += hist[v];
    s += hist[v] * x;
    s2 += hist[v] * x * x;
  }
  if (n === 0) throw new Error(`${ds.name} ${ds.split}: no pixels to standardise with`);
  const mean = s / n;
  const std = Math.sqrt(Math.max(s2 / n - mean * mean, 0));
  if (!(std > 0)) throw new Error(`${ds.name} ${ds.split}: every pixel has the same value, so inputs cannot be standardised`);
  return { mean, std };
}

/** The same samples with inputs scaled by `stats`. */
export function withScaling(ds: Dataset, stats: PixelStats): Dataset {
  return { ...ds, mean: stats.mean, std: stats.std };
}

/**
 * Both splits scaled by the training split's statistics (the test split's own would make a
 * different model input), or as loaded when `standardize` is off.
 */
export function scaledSplits(train: Dataset, test: Dataset, standardize: boolean): { train: Dataset; test: Dataset } {
  if (!standardize) return { train, test };
  const stats = pixelStats(train);
  return { train: withScaling(train, stats), test: withScaling(test, stats) };
}
