// A pool of ORT workers. Models are identified by the hash of their bytes; each worker
// receives a model's bytes once and keeps its session, so later runs send only the feeds.
import { createHash } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import type { HostFeeds, HostOutputs } from '../host.js';
import type { CompileTarget } from '../graph.js';
import type { FromWorker, PackSpec, SessionSettings, ToWorker } from './messages.js';
import { detectTarget } from './target.js';

export type { PackSpec };

export interface CompiledModel {
  /** Content hash of `bytes`; sessions are cached under it. */
  readonly key: string;
  readonly bytes: Uint8Array;
}

export function compiledModel(bytes: Uint8Array): CompiledModel {
  return { key: createHash('sha256').update(bytes).digest('hex').slice(0, 32), bytes };
}

export interface RuntimeOptions {
  /** Number of worker threads (default 1). */
  readonly workers?: number;
  /** ORT intra-op threads per worker (default 1: this box has 2 cores shared with libp2p). */
  readonly intraOpThreads?: number;
  readonly optimizationLevel?: SessionSettings['optimizationLevel'];
}

export interface RunOptions {
  /** Output names to fetch (default: all). */
  readonly fetches?: ReadonlyArray<string>;
  /** Move these feed buffers to the worker instead of copying them; they become unusable here. */
  readonly transfer?: ReadonlyArray<ArrayBuffer>;
  /** Outputs to write into views of one flat array each, returned under the pack's name. */
  readonly pack?: Readonly<Record<string, PackSpec>>;
  /**
   * Bulk work that may wait: a worker runs every waiting call that is not background first
   * (calls of one model keep their order). Training steps are background, so a merge's or an
   * evaluation's few calls do not queue behind a simulated cluster's epochs.
   */
  readonly background?: boolean;
  /**
   * Feeds whose buffers (moved with `transfer`, or the worker's copy) come back in
   * `recycled`, so a caller that packs inputs every call reuses them instead of allocating.
   */
  readonly recycle?: ReadonlyArray<string>;
}

export interface RunResult {
  readonly outputs: HostOutputs;
  /** Time inside session.run, as measured in the worker. */
  readonly ms: number;
  /** The buffers of the `recycle` feeds, back from the worker. */
  readonly recycled: ArrayBuffer[];
}

export interface Runtime {
  readonly workers: number;
  readonly intraOpThreads: number;
  run(model: CompiledModel, feeds: HostFeeds, opts?: RunOptions): Promise<RunResult>;
  /** Drops a model's sessions from every worker. */
  release(model: CompiledModel): Promise<void>;
  /** The kernels this machine's ORT offers beyond standard ONNX (probed once, then cached). */
  target(): Promise<CompileTarget>;
  close(): Promise<void>;
}

interface Pending {
  resolve(v: FromWorker): void;
  reject(e: Error): void;
}

interface Slot {
  readonly worker: Worker;
  readonly loaded: Set<string>;
  busy: number;
}

function spawn(settings: SessionSettings): Worker {
  const url = new URL(import.meta.url.endsWith('.ts') ? './worker.ts' : './worker.js', import.meta.url);
  if (!url.pathname.endsWith('.ts')) return new Worker(url, { workerData: settings });
  // Running from TypeScript sources (tests): Node 20 cannot start a .ts worker directly, so
  // the worker bootstraps through tsx's loader.
  const href = JSON.stringify(url.href);
  return new Worker(`import('tsx/esm/api').then(({ tsImport }) => tsImport(${href}, ${href}))`, { eval: true, workerData: settings });
}

export function createRuntime(opts: RuntimeOptions = {}): Runtime {
  const settings: SessionSettings = { intraOpThreads: opts.intraOpThreads ?? 1, optimizationLevel: opts.optimizationLevel ?? 'all' };
  const n = opts.workers ?? 1;
  if (!Number.isInteger(n) || n < 1) throw new Error(`runtime: workers must be a positive integer, got ${n}`);
  if (!Number.isInteger(settings.intraOpThreads) || settings.intraOpThreads < 1) {
    throw new Error(`runtime: intraOpThreads must be a positive integer, got ${settings.intraOpThreads}`);
  }
  const pending = new Map<number, Pending>();
  let nextId = 0;
  let closed = false;
  let target: Promise<CompileTarget> | undefined;

  const slots: Slot[] = Array.from({ length: n }, () => {
    const worker = spawn(settings);
    worker.unref();
    worker.on('message', (msg: FromWorker) => {
      const p = pending.get(msg.id);
      if (!p) return;
      pending.delete(msg.id);
      if (msg.kind === 'error') p.reject(new Error(msg.message));
      else p.resolve(msg);
    });
    worker.on('error', (e) => {
      for (const p of pending.values()) p.reject(e instanceof Error ? e : new Error(String(e)));
      pending.clear();
    });
    return { worker, loaded: new Set<string>(), busy: 0 };
  });

  function send(slot: Slot, msg: ToWorker, transfer: ReadonlyArray<ArrayBuffer> = []): Promise<FromWorker> {
    if (closed) return Promise.reject(new Error('runtime is closed'));
    slot.busy++;
    // A busy worker keeps the process alive; an idle one must not.
    if (slot.busy === 1) slot.worker.ref();
    return new Promise<FromWorker>((resolve, reject) => {
      pending.set(msg.id, { resolve, reject });
      slot.worker.postMessage(msg, transfer as ArrayBuffer[]);
    }).finally(() => {
      slot.busy--;
      if (slot.busy === 0) slot.worker.unref();
    });
  }

  function pick(key: string): Slot {
    let best = slots[0];
    const score = (s: Slot) => s.busy * 2 + (s.loaded.has(key) ? 0 : 1);
    for (const s of slots) if (score(s) < score(best)) best = s;
    return best;
  }

  const runtime: Runtime = {
    workers: n,
    intraOpThreads: settings.intraOpThreads,
    async run(model, feeds, runOpts = {}) {
      const slot = pick(model.key);
      const first = !slot.loaded.has(model.key);
      slot.loaded.add(model.key);
      const msg: ToWorker = { kind: 'run', id: nextId++, key: model.key, model: first ? model.bytes : undefined, feeds, fetches: runOpts.fetches, pack: runOpts.pack, background: runOpts.background, recycle: runOpts.recycle };
      try {
        const res = await send(slot, msg, [...new Set(runOpts.transfer ?? [])]);
        if (res.kind !== 'result') throw new Error('runtime: unexpected reply');
        return { outputs: res.outputs, ms: res.ms, recycled: res.recycled ?? [] };
      } catch (e) {
        if (first) slot.loaded.delete(model.key);
        throw e;
      }
    },
    async release(model) {
      await Promise.all(
        slots.filter((s) => s.loaded.has(model.key)).map((s) => {
          s.loaded.delete(model.key);
          return send(s, { kind: 'release', id: nextId++, key: model.key });
        }),
      );
    },
    target() {
      target ??= detectTarget(runtime);
      return target;
    },
    async close() {
      if (closed) return;
      closed = true;
      for (const p of pending.values()) p.reject(new Error('runtime closed'));
      pending.clear();
      await Promise.all(slots.map((s) => s.worker.terminate()));
    },
  };
  return runtime;
}
