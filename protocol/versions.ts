// Versions of one peer's model, as the protocol sees them: each version is a content hash
// with a parent; a sender's versions are its *public copy*, which every receiver rebuilds
// bit for bit from deltas (with a lossy codec the sender's private model differs from it by
// at most the codec's bound, and the next delta carries the difference: error feedback).
import { CODECS, CodecError, type CodecName, type DeltaCodec, type EncodeOptions } from './codecs/index.js';
import { DEFAULT_LIMITS, PROTOCOL_VERSION, type Limits } from './constants.js';
import { modelHash, stateHash } from './hash.js';
import type { Announce, Checked, DeltaStep, RejectReason } from './messages.js';

export interface Version {
  readonly seq: number;
  readonly hash: string;
  readonly parent: string | null;
  readonly values: Float32Array;
}

interface Stored extends Version {
  /** The encoded delta from `parent` to this version (absent for a full state). */
  readonly delta?: { readonly codec: CodecName; readonly payload: Uint8Array };
}

export interface PublisherOptions {
  readonly run: string;
  readonly model: unknown;
  readonly codec: CodecName;
  readonly codecOptions?: EncodeOptions;
  /** Versions kept to serve deltas to peers that fell behind (default 8). */
  readonly history?: number;
  readonly limits?: Limits;
}

export interface Published {
  readonly version: Version;
  readonly announce: Announce;
  /** |private − public| after this version (0 for lossless codecs). */
  readonly error: number;
}

/** A next version computed from the head but not yet published (Publisher.stage). */
export interface Staged {
  /** The head it was staged on (its parent, or what a full state replaces). */
  readonly head: string | null;
  readonly parent: string | null;
  readonly hash: string;
  readonly values: Float32Array;
  readonly delta?: { readonly codec: CodecName; readonly payload: Uint8Array };
  readonly error: number;
}

export interface Publisher {
  readonly modelHash: string;
  publish(values: Float32Array, metrics?: Record<string, number>): Published;
  /**
   * publish's work (checks, encoding against the head, hashing) without publishing: nothing
   * changes until commit, so a staged version may be dropped. publish = commit ∘ stage.
   */
  stage(values: Float32Array): Staged;
  /** Publishes a staged version; throws if the head moved since it was staged. */
  commit(staged: Staged, metrics?: Record<string, number>): Published;
  head(): Version | undefined;
  /** The stored version with this hash, if still in the history. */
  get(hash: string): Version | undefined;
  /** How to bring a holder of any of `bases` to `hash`: delta steps, a full state, or nothing. */
  plan(hash: string, bases: ReadonlyArray<string>): ResponsePlan | undefined;
}

export type ResponsePlan =
  | { readonly kind: 'state'; readonly version: Version; readonly payload: Uint8Array }
  | { readonly kind: 'deltas'; readonly version: Version; readonly steps: ReadonlyArray<DeltaStep>; readonly payload: Uint8Array };

export function createPublisher(opts: PublisherOptions): Publisher {
  const mh = modelHash(opts.model);
  const codec = CODECS[opts.codec];
  const limits = opts.limits ?? DEFAULT_LIMITS;
  const keep = opts.history ?? 8;
  const history: Stored[] = [];
  const byHash = new Map<string, Stored>();
  let seq = 0;

  const publisher: Publisher = {
    modelHash: mh,
    head: () => history[history.length - 1],
    publish: (values, metrics) => publisher.commit(publisher.stage(values), metrics),
    get: (hash) => byHash.get(hash),
    stage(values) {
      const prev = history[history.length - 1];
      if (!prev || prev.values.length !== values.length) {
        assertParameters(values);
        const v = values.slice();
        return { head: prev?.hash ?? null, parent: null, hash: stateHash(opts.model, v), values: v, error: 0 };
      }
      // Encode against the public copy receivers hold, so lossy residuals are not lost.
      if (!codec.encodeApply) assertParameters(values);
      const { payload, values: next } = codec.encodeApply?.(prev.values, values, opts.codecOptions) ?? encodeThenApply(codec, prev.values, values, opts.codecOptions);
      // One pass for the error and (with encodeApply, which takes any input) for finiteness,
      // checked before anything is stored: a non-finite value or reconstruction leaves a NaN
      // or infinite difference, and NaN sticks.
      let error = 0;
      for (let i = 0; i < values.length; i++) {
        const d = Math.abs(values[i] - next[i]);
        if (!(d <= error)) error = d > error ? d : NaN;
      }
      if (!Number.isFinite(error)) {
        assertParameters(values);
        throw new Error(`publish: the ${opts.codec} codec's reconstruction is not finite`);
      }
      return { head: prev.hash, parent: prev.hash, hash: stateHash(opts.model, next), values: next, delta: { codec: opts.codec, payload }, error };
    },
    commit(staged, metrics) {
      const head = history[history.length - 1];
      if (staged.head !== (head?.hash ?? null)) throw new Error('publish: the version was staged on another head');
      const stored: Stored = { seq: seq++, hash: staged.hash, parent: staged.parent, values: staged.values, ...(staged.delta ? { delta: staged.delta } : {}) };
      history.push(stored);
      byHash.set(stored.hash, stored);
      while (history.length > keep) byHash.delete(history.shift()!.hash);
      const inline = stored.delta && stored.delta.payload.byteLength <= limits.inlineDeltaBytes;
      const announce: Announce = {
        v: PROTOCOL_VERSION,
        t: 'announce',
        run: opts.run,
        seq: stored.seq,
        hash: stored.hash,
        parent: stored.parent,
        mh,
        n: stored.values.length,
        ...(metrics ? { metrics } : {}),
        ...(inline ? { delta: { codec: stored.delta!.codec, base: stored.parent!, payload: stored.delta!.payload } } : {}),
      };
      return { version: stored, announce, error: staged.error };
    },
    plan(hash, bases) {
      const target = byHash.get(hash);
      if (!target) return undefined;
      return planChain(history.slice(0, history.indexOf(target) + 1), target, bases);
    },
  };
  return publisher;
}

function assertParameters(values: Float32Array): void {
  for (let i = 0; i < values.length; i++) if (!Number.isFinite(values[i])) throw new Error(`publish: parameter ${i} is ${values[i]}`);
}

function encodeThenApply(codec: DeltaCodec, base: Float32Array, target: Float32Array, o?: EncodeOptions) {
  const payload = codec.encode(base, target, o);
  return { payload, values: codec.apply(base, payload) };
}

/** One step of a version chain as a server keeps it: the encoded delta from its parent. */
export interface ChainLink {
  readonly hash: string;
  readonly parent: string | null;
  readonly delta?: { readonly codec: CodecName; readonly payload: Uint8Array };
}

/**
 * How to bring a holder of any of `bases` to `target`, the last link of `chain`: the delta
 * steps from the newest base it holds when every step is stored and they are smaller than
 * the state, else the full state.
 */
export function planChain(chain: ReadonlyArray<ChainLink>, target: Version, bases: ReadonlyArray<string>): ResponsePlan {
  const idx = chain.length - 1;
  for (let from = idx - 1; from >= 0; from--) {
    if (!bases.includes(chain[from].hash)) continue;
    const links = chain.slice(from + 1, idx + 1);
    if (links.every((s) => s.delta)) {
      const steps = links.map((s) => ({ codec: s.delta!.codec, base: s.parent!, hash: s.hash, bytes: s.delta!.payload.byteLength }));
      // One step (the usual case) is served as stored, without a copy.
      const payload = links.length === 1 ? links[0].delta!.payload : concatBytes(links.map((s) => s.delta!.payload));
      if (payload.byteLength < 4 * target.values.length) return { kind: 'deltas', version: target, steps, payload };
    }
    break;
  }
  return { kind: 'state', version: target, payload: new Uint8Array(target.values.buffer, target.values.byteOffset, target.values.byteLength) };
}

/** Splits a stream response's payload into the links it carries. */
export function linksOf(steps: ReadonlyArray<DeltaStep>, payload: Uint8Array): ChainLink[] {
  let off = 0;
  return steps.map((s) => {
    const link = { hash: s.hash, parent: s.base, delta: { codec: s.codec, payload: payload.slice(off, off + s.bytes) } };
    off += s.bytes;
    return link;
  });
}

function concatBytes(parts: ReadonlyArray<Uint8Array>): Uint8Array {
  const out = new Uint8Array(parts.reduce((a, p) => a + p.byteLength, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.byteLength;
  }
  return out;
}

const reject = (reason: RejectReason, detail: string): Checked<never> => ({ ok: false, reason, detail });

/** Whether an announcement fits the run's model: same architecture hash and parameter count. */
export function checkShape(ann: Announce, mh: string, n: number): Checked<Announce> {
  if (ann.mh !== mh) return reject('wrong-model', `model ${ann.mh.slice(0, 12)}… is not the run's ${mh.slice(0, 12)}…`);
  if (ann.n !== n) return reject('wrong-shape', `${ann.n} parameters, the model has ${n}`);
  return { ok: true, msg: ann };
}

/** Applies one delta to a held base and checks the result against the announced hash. */
export function applyDelta(model: unknown, base: Version, codec: CodecName, payload: Uint8Array, expected: { seq: number; hash: string }): Checked<Version> {
  let values: Float32Array;
  try {
    values = CODECS[codec].apply(base.values, payload);
  } catch (e) {
    if (e instanceof CodecError) return reject(e.reason, e.message);
    throw e;
  }
  const hash = stateHash(model, values);
  if (hash !== expected.hash) return reject('hash-mismatch', `delta from ${base.hash.slice(0, 12)}… gives ${hash.slice(0, 12)}…, announced ${expected.hash.slice(0, 12)}…`);
  return { ok: true, msg: { seq: expected.seq, hash, parent: base.hash, values } };
}

/** A full state received by hash: values must be finite and hash to what was asked for. */
export function verifyState(model: unknown, n: number, payload: Uint8Array, expected: { seq: number; hash: string; parent: string | null }): Checked<Version> {
  if (payload.byteLength !== 4 * n) return reject('wrong-shape', `${payload.byteLength} bytes for ${n} values`);
  const values = new Float32Array(n);
  new Uint8Array(values.buffer).set(payload);
  for (let i = 0; i < n; i++) if (!Number.isFinite(values[i])) return reject('non-finite', `value ${i} is ${values[i]}`);
  const hash = stateHash(model, values);
  if (hash !== expected.hash) return reject('hash-mismatch', `state hashes to ${hash.slice(0, 12)}…, asked for ${expected.hash.slice(0, 12)}…`);
  return { ok: true, msg: { seq: expected.seq, hash, parent: expected.parent, values } };
}

/** Applies a chain of delta steps (from a stream response) starting at a held base. */
export function applySteps(model: unknown, base: Version, steps: ReadonlyArray<DeltaStep>, payload: Uint8Array, seq: number): Checked<Version> {
  let cur = base;
  let off = 0;
  for (const [k, s] of steps.entries()) {
    if (s.base !== cur.hash) return reject('bad-field', `step ${k} applies to ${s.base.slice(0, 12)}…, not ${cur.hash.slice(0, 12)}…`);
    if (off + s.bytes > payload.byteLength) return reject('bad-payload', 'steps longer than the payload');
    const r = applyDelta(model, cur, s.codec, payload.subarray(off, off + s.bytes), { seq: k === steps.length - 1 ? seq : cur.seq + 1, hash: s.hash });
    if (!r.ok) return r;
    cur = r.msg;
    off += s.bytes;
  }
  if (off !== payload.byteLength) return reject('bad-payload', 'payload longer than its steps');
  return { ok: true, msg: cur };
}
