// Messages between the pool (main thread) and an ORT worker.
import type { HostFeeds, HostOutputs } from '../host.js';

export interface SessionSettings {
  readonly intraOpThreads: number;
  readonly optimizationLevel: 'disabled' | 'basic' | 'extended' | 'all';
}

/**
 * Several float32 outputs written by ORT straight into views of one flat array (no copy):
 * the result appears under the pack's name instead of the individual outputs.
 */
export interface PackSpec {
  readonly size: number;
  readonly parts: ReadonlyArray<{ readonly output: string; readonly offset: number; readonly dims: ReadonlyArray<number> }>;
}

export type ToWorker =
  | {
      readonly kind: 'run';
      readonly id: number;
      readonly key: string;
      readonly model?: Uint8Array;
      readonly feeds: HostFeeds;
      readonly fetches?: ReadonlyArray<string>;
      readonly pack?: Readonly<Record<string, PackSpec>>;
      /** Bulk work (training steps): runs after any waiting call that is not. */
      readonly background?: boolean;
      /** Feeds whose buffers are sent back with the result, for the caller to reuse. */
      readonly recycle?: ReadonlyArray<string>;
    }
  | { readonly kind: 'release'; readonly id: number; readonly key: string };

export type FromWorker =
  | { readonly kind: 'result'; readonly id: number; readonly outputs: HostOutputs; readonly ms: number; readonly recycled?: ArrayBuffer[] }
  | { readonly kind: 'released'; readonly id: number }
  | { readonly kind: 'error'; readonly id: number; readonly message: string };
