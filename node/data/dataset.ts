// Image classification datasets held as uint8 pixels (the compact form); batches are
// converted to normalised float32 on demand.

export interface Dataset {
  readonly name: DatasetName;
  readonly split: 'train' | 'test';
  readonly count: number;
  /** One sample's shape [C, H, W]. */
  readonly shape: readonly [number, number, number];
  readonly classes: number;
  /** count × C·H·W pixels in [0, 255]. */
  readonly images: Uint8Array;
  readonly labels: Uint8Array;
  /** Input scaling: x = (pixel/255 − mean)/std. */
  readonly mean: number;
  readonly std: number;
}

export type DatasetName = 'mnist' | 'fashion';
export const DATASET_NAMES: ReadonlyArray<DatasetName> = ['mnist', 'fashion'];

/** Subset of a dataset by sample indices (copies the selected samples). */
export function subset(ds: Dataset, indices: ArrayLike<number>): Dataset {
  const d = ds.shape[0] * ds.shape[1] * ds.shape[2];
  const images = new Uint8Array(indices.length * d);
  const labels = new Uint8Array(indices.length);
  for (let i = 0; i < indices.length; i++) {
    const j = indices[i];
    images.set(ds.images.subarray(j * d, (j + 1) * d), i * d);
    labels[i] = ds.labels[j];
  }
  return { ...ds, count: indices.length, images, labels };
}

/** The affine map from a pixel byte to a model input: x = pixel·scale − shift. */
export interface InputScaling {
  readonly scale: number;
  readonly shift: number;
}

export function inputScaling(ds: Dataset): InputScaling {
  return { scale: 1 / (255 * ds.std), shift: ds.mean / ds.std };
}

/**
 * Copies the raw pixels of samples `indices[start … start+n)` into `out` and their labels into
 * `outLabels`. Graphs scale pixels themselves, so the JS thread only moves bytes.
 */
export function gatherBatch(
  ds: Dataset,
  indices: ArrayLike<number>,
  start: number,
  n: number,
  out: Uint8Array,
  outLabels: BigInt64Array,
  outOffset = 0,
): void {
  const d = ds.shape[0] * ds.shape[1] * ds.shape[2];
  for (let i = 0; i < n; i++) {
    const j = indices[start + i];
    out.set(ds.images.subarray(j * d, (j + 1) * d), (outOffset + i) * d);
    outLabels[outOffset + i] = BigInt(ds.labels[j]);
  }
}

/**
 * Writes samples `indices[start … start+n)` into `out` (normalised float32) and their labels
 * into `outLabels`. Reused buffers keep the training loop allocation-free.
 */
export function fillBatch(
  ds: Dataset,
  indices: ArrayLike<number>,
  start: number,
  n: number,
  out: Float32Array,
  outLabels: BigInt64Array,
  outOffset = 0,
): void {
  const d = ds.shape[0] * ds.shape[1] * ds.shape[2];
  const { scale, shift } = inputScaling(ds);
  for (let i = 0; i < n; i++) {
    const j = indices[start + i];
    const src = j * d;
    const dst = (outOffset + i) * d;
    for (let k = 0; k < d; k++) out[dst + k] = ds.images[src + k] * scale - shift;
    outLabels[outOffset + i] = BigInt(ds.labels[j]);
  }
}
