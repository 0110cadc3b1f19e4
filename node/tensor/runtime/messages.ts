// Messages between the pool (main thread) and an ORT worker.
import type { HostFeeds, HostOutputs } from '../host.js';

export interface SessionSettings {
  readonly intraOpThreads: number;
  readonly optimizationLevel: 'disabled' | 'basic' | 'extended' | 'all';
}

export type ToWorker =
  | { readonly kind: 'run'; readonly id: number; readonly key: string; readonly model?: Uint8Array; readonly feeds: HostFeeds; readonly fetches?: ReadonlyArray<string> }
  | { readonly kind: 'release'; readonly id: number; readonly key: string };

export type FromWorker =
  | { readonly kind: 'result'; readonly id: number; readonly outputs: HostOutputs; readonly ms: number }
  | { readonly kind: 'released'; readonly id: number }
  | { readonly kind: 'error'; readonly id: number; readonly message: string };
