// An ORT worker: owns a cache of InferenceSessions and runs them off the main thread, so
// session.run (synchronous native code) never stalls the event loop.
import { parentPort, workerData } from 'node:worker_threads';
import ort from 'onnxruntime-node';
import type { DType, TypedArray } from '../dtype.js';
import type { HostFeeds, HostOutputs } from '../host.js';
import type { FromWorker, SessionSettings, ToWorker } from './messages.js';

const settings = workerData as SessionSettings;
/**
 * Buffers of feeds whose run has finished, by byte length: the next call's packed outputs
 * reuse them (ORT overwrites every element) instead of allocating and zero-filling megabytes
 * of fresh memory per call.
 */
const spare = new Map<number, ArrayBuffer[]>();
const SPARE_PER_SIZE = 4;

function takeBuffer(bytes: number): ArrayBuffer {
  return spare.get(bytes)?.pop() ?? new ArrayBuffer(bytes);
}

function keepBuffers(feeds: HostFeeds, wanted: ReadonlySet<number>): void {
  const seen = new Set<ArrayBuffer>();
  for (const t of Object.values(feeds)) {
    const b = t.data.buffer;
    if (!(b instanceof ArrayBuffer) || seen.has(b) || !wanted.has(b.byteLength)) continue;
    seen.add(b);
    const list = spare.get(b.byteLength) ?? [];
    if (list.length < SPARE_PER_SIZE) list.push(b);
    spare.set(b.byteLength, list);
  }
}
const sessions = new Map<string, ort.InferenceSession>();
const port = parentPort!;

async function session(key: string, model?: Uint8Array): Promise<ort.InferenceSession> {
  let s = sessions.get(key);
  if (s) return s;
  if (!model) throw new Error(`worker has no session for ${key} and no model bytes were sent`);
  s = await ort.InferenceSession.create(model, {
    intraOpNumThreads: settings.intraOpThreads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: settings.optimizationLevel,
    enableCpuMemArena: true,
    enableMemPattern: true,
  });
  sessions.set(key, s);
  return s;
}

function transferable(outputs: HostOutputs): ArrayBuffer[] {
  const seen = new Set<ArrayBuffer>();
  for (const t of Object.values(outputs)) {
    const b = t.data.buffer;
    if (b instanceof ArrayBuffer && t.data.byteOffset === 0 && t.data.byteLength === b.byteLength) seen.add(b);
  }
  return [...seen];
}

async function handle(msg: ToWorker): Promise<void> {
  if (msg.kind === 'release') {
    await sessions.get(msg.key)?.release();
    sessions.delete(msg.key);
    port.postMessage({ kind: 'released', id: msg.id } satisfies FromWorker);
    return;
  }
  const s = await session(msg.key, msg.model);
  const feeds: Record<string, ort.Tensor> = {};
  for (const [name, t] of Object.entries(msg.feeds)) {
    // ORT refuses views of shared memory ("Invalid argument"): a shared feed (inputs the main
    // thread packs once and sends every call without a copy) is copied here, off the main thread.
    const data = t.data.buffer instanceof SharedArrayBuffer ? t.data.slice() : t.data;
    feeds[name] = new ort.Tensor(t.dtype as ort.Tensor.Type, data as ort.Tensor.DataType, t.dims);
  }
  const packed: HostOutputs = {};
  let fetches: string[] | Record<string, ort.Tensor | null> | undefined = msg.fetches ? [...msg.fetches] : undefined;
  if (msg.pack) {
    // Fetch every output by name: packed ones into preallocated views, the rest as usual.
    const named: Record<string, ort.Tensor | null> = {};
    for (const o of msg.fetches ?? s.outputNames) named[o] = null;
    for (const [name, spec] of Object.entries(msg.pack)) {
      // A reused buffer holds stale values, so only packs whose parts tile it may take one.
      const covered = spec.parts.reduce((a, p) => a + p.dims.reduce((x, d) => x * d, 1), 0) === spec.size;
      const flat = covered ? new Float32Array(takeBuffer(spec.size * 4)) : new Float32Array(spec.size);
      for (const part of spec.parts) {
        const n = part.dims.reduce((a, b) => a * b, 1);
        named[part.output] = new ort.Tensor('float32', flat.subarray(part.offset, part.offset + n), part.dims);
      }
      packed[name] = { dtype: 'float32', dims: [spec.size], data: flat };
    }
    fetches = named;
  }
  const t0 = performance.now();
  const res = fetches ? await s.run(feeds, fetches) : await s.run(feeds);
  const ms = performance.now() - t0;
  const packedOutputs = new Set(Object.values(msg.pack ?? {}).flatMap((p) => p.parts.map((q) => q.output)));
  if (msg.pack) keepBuffers(msg.feeds, new Set(Object.values(msg.pack).map((p) => p.size * 4)));
  const outputs: HostOutputs = { ...packed };
  for (const [name, t] of Object.entries(res)) {
    if (packedOutputs.has(name)) continue;
    outputs[name] = { dtype: t.type as DType, dims: [...t.dims], data: t.data as TypedArray };
  }
  const out = transferable(outputs);
  // Feed buffers the caller asked back, unless kept above for outputs or already going back.
  const kept = msg.recycle ? new Set([...spare.values()].flat()) : undefined;
  const recycled = [...new Set((msg.recycle ?? []).map((name) => msg.feeds[name]?.data.buffer))].filter(
    (b): b is ArrayBuffer => b instanceof ArrayBuffer && !kept!.has(b) && !out.includes(b),
  );
  port.postMessage({ kind: 'result', id: msg.id, outputs, ms, recycled } satisfies FromWorker, [...out, ...recycled]);
}

// Messages are handled one at a time: ORT's run is synchronous anyway, and serialising
// also keeps two runs of a new model from creating its session twice. Waiting messages are
// taken in arrival order, except that a call that is not background goes first unless an
// earlier message of its model is still waiting (so a model's calls, its bytes and its
// release keep their order).
const waiting: ToWorker[] = [];
let draining = false;

function next(): ToWorker | undefined {
  const seen = new Set<string>();
  for (let i = 0; i < waiting.length; i++) {
    const m = waiting[i];
    if (!(m.kind === 'run' && m.background) && !seen.has(m.key)) return waiting.splice(i, 1)[0];
    seen.add(m.key);
  }
  return waiting.shift();
}

async function drain(): Promise<void> {
  for (let msg = next(); msg; msg = next()) {
    await handle(msg).catch((e: unknown) => {
      port.postMessage({ kind: 'error', id: msg!.id, message: e instanceof Error ? e.message : String(e) } satisfies FromWorker);
    });
    // Let messages that arrived during the run join the queue before the next is chosen.
    await new Promise<void>((r) => setImmediate(r));
  }
  draining = false;
}

port.on('message', (msg: ToWorker) => {
  waiting.push(msg);
  if (draining) return;
  draining = true;
  setImmediate(() => void drain());
});
