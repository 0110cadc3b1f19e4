// Moving a flat weight vector in and out of graphs whose inputs and outputs are per tensor:
// inputs are views (zero-copy), outputs are written by ORT into views of one new flat array.
import type { HostTensor } from '../tensor/host.js';
import type { PackSpec } from '../tensor/runtime/pool.js';
import type { Layout } from './layout.js';

/** Feeds '<prefix><tensor>' for each entry, as views into `flat` (which starts at the first selected entry). */
export function weightFeeds(layout: Layout, flat: Float32Array, prefix = 'w:', kind?: 'param' | 'buffer'): Record<string, HostTensor> {
  const entries = kind ? layout.entries.filter((e) => e.kind === kind) : layout.entries;
  const base = entries[0]?.offset ?? 0;
  const feeds: Record<string, HostTensor> = {};
  for (const e of entries) {
    feeds[`${prefix}${e.name}`] = { dtype: 'float32', dims: e.shape, data: flat.subarray(e.offset - base, e.offset - base + e.size) };
  }
  return feeds;
}

/** Packs outputs '<prefix><tensor>' back into one flat array laid out like the model. */
export function weightPack(layout: Layout, prefix: string, kind?: 'param' | 'buffer'): PackSpec {
  const entries = kind ? layout.entries.filter((e) => e.kind === kind) : layout.entries;
  const base = entries[0]?.offset ?? 0;
  return {
    size: entries.reduce((a, e) => a + e.size, 0),
    parts: entries.map((e) => ({ output: `${prefix}${e.name}`, offset: e.offset - base, dims: e.shape })),
  };
}
