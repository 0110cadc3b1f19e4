// Wire messages: msgpack maps with a protocol version `v` and a type `t`. Binary payloads
// are msgpack `bin` only (little-endian bytes), objects plain maps, so any msgpack library
// can speak the protocol. Every inbound message is size-checked before decoding and then
// validated field by field into a fresh object; failures carry a reason (a metric label).
import { Packr, Unpackr } from 'msgpackr';
import { CODEC_NAMES, type CodecName } from './codecs/codec.js';
import { DEFAULT_LIMITS, PROTOCOL_VERSION, RUN_ID_PATTERN, type Limits } from './constants.js';
import { HASH_PATTERN } from './hash.js';

export type RejectReason =
  | 'oversize'
  | 'malformed'
  | 'bad-version'
  | 'bad-type'
  | 'bad-field'
  | 'wrong-run'
  | 'non-member'
  | 'wrong-model'
  | 'wrong-shape'
  | 'non-finite'
  | 'bad-payload'
  | 'hash-mismatch';

export const REJECT_REASONS: ReadonlyArray<RejectReason> = [
  'oversize',
  'malformed',
  'bad-version',
  'bad-type',
  'bad-field',
  'wrong-run',
  'non-member',
  'wrong-model',
  'wrong-shape',
  'non-finite',
  'bad-payload',
  'hash-mismatch',
];

export const isRejectReason = (x: string): x is RejectReason => (REJECT_REASONS as ReadonlyArray<string>).includes(x);

export interface InlineDelta {
  readonly codec: CodecName;
  /** The version the delta applies to (the announcement's parent). */
  readonly base: string;
  readonly payload: Uint8Array;
}

/** "I am here, in this run, with this architecture." */
export interface Hello {
  readonly v: number;
  readonly t: 'hello';
  readonly run: string;
  readonly agent: string;
  readonly model: unknown;
  readonly mh: string;
  readonly head?: { readonly seq: number; readonly hash: string };
}

/** "My version seq is `hash`, derived from `parent`", optionally with the delta inline. */
export interface Announce {
  readonly v: number;
  readonly t: 'announce';
  readonly run: string;
  readonly seq: number;
  readonly hash: string;
  readonly parent: string | null;
  readonly mh: string;
  readonly n: number;
  readonly metrics?: Readonly<Record<string, number>>;
  readonly delta?: InlineDelta;
}

/** "I hold version `hash` of `peer`" (senders diff against what receivers acknowledged). */
export interface Ack {
  readonly v: number;
  readonly t: 'ack';
  readonly run: string;
  readonly peer: string;
  readonly hash: string;
}

/** "Of `peer`, I hold these versions" (sent after a restart, so resync skips them). */
export interface Have {
  readonly v: number;
  readonly t: 'have';
  readonly run: string;
  readonly peer: string;
  readonly hashes: ReadonlyArray<string>;
}

export type GossipMessage = Hello | Announce | Ack | Have;

/** Stream request: version `hash`, given the requester holds any of `bases`. */
export interface Want {
  readonly v: number;
  readonly t: 'want';
  readonly run: string;
  readonly hash: string;
  readonly bases: ReadonlyArray<string>;
}

export interface DeltaStep {
  readonly codec: CodecName;
  readonly base: string;
  readonly hash: string;
  readonly bytes: number;
}

/** Stream response header; `bytes` of payload follow in chunk frames. */
export interface BlobHeader {
  readonly v: number;
  readonly t: 'blob';
  readonly run: string;
  readonly hash: string;
  /** 'state': the float32 values of version `hash`; 'deltas': `steps` applied in order. */
  readonly kind: 'state' | 'deltas';
  readonly n: number;
  readonly bytes: number;
  readonly steps?: ReadonlyArray<DeltaStep>;
}

export interface Chunk {
  readonly t: 'chunk';
  readonly i: number;
  readonly data: Uint8Array;
}

export interface StreamError {
  readonly v: number;
  readonly t: 'error';
  readonly code: 'not-found' | 'bad-request' | 'busy';
  readonly message: string;
}

export type StreamMessage = Want | BlobHeader | Chunk | StreamError;

export type Checked<T> = { readonly ok: true; readonly msg: T } | { readonly ok: false; readonly reason: RejectReason; readonly detail: string };

const packr = new Packr({ moreTypes: true, useRecords: false, variableMapSize: true });
const unpackr = new Unpackr({ moreTypes: true, useRecords: false, mapsAsObjects: true });

// msgpackr's moreTypes (on, so typed arrays never corrupt) writes a Uint8Array as its own
// typed-array extension; a Buffer view of the same bytes is written as standard msgpack bin,
// which every msgpack library reads.
const asBin = (b: Uint8Array): Buffer => Buffer.from(b.buffer, b.byteOffset, b.byteLength);

function toWire(msg: GossipMessage | StreamMessage): unknown {
  if (msg.t === 'announce' && msg.delta) return { ...msg, delta: { ...msg.delta, payload: asBin(msg.delta.payload) } };
  if (msg.t === 'chunk') return { ...msg, data: asBin(msg.data) };
  return msg;
}

export function encodeMessage(msg: GossipMessage | StreamMessage): Uint8Array {
  // Copy: pack() returns a slice of a shared slab.
  return Uint8Array.from(packr.pack(toWire(msg)));
}

const binHeader = (n: number) => (n < 0x100 ? 2 : n < 0x10000 ? 3 : 5);
const NO_BYTES = new Uint8Array(0);

/**
 * encodeMessage(msg).byteLength without encoding a payload: the message is packed with an
 * empty payload, whose msgpack bin header is then replaced by the one of `payloadBytes` bytes
 * (bin8/16/32; by default the payload's own length). The simulator counts every message it
 * never sends, many of them carrying a model's delta.
 */
export function encodedSize(msg: GossipMessage | StreamMessage, payloadBytes?: number): number {
  let bare: GossipMessage | StreamMessage;
  let n: number;
  if (msg.t === 'announce' && msg.delta) {
    n = payloadBytes ?? msg.delta.payload.byteLength;
    bare = { ...msg, delta: { ...msg.delta, payload: NO_BYTES } };
  } else if (msg.t === 'chunk') {
    n = payloadBytes ?? msg.data.byteLength;
    bare = { ...msg, data: NO_BYTES };
  } else return encodeMessage(msg).byteLength;
  return packr.pack(toWire(bare)).byteLength - binHeader(0) + binHeader(n) + n;
}

class Invalid extends Error {
  constructor(
    readonly reason: RejectReason,
    message: string,
  ) {
    super(message);
  }
}

const fail = (reason: RejectReason, detail: string): never => {
  throw new Invalid(reason, detail);
};

function isPlainObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x) && !ArrayBuffer.isView(x) && Object.getPrototypeOf(x) === Object.prototype;
}

const str = (o: Record<string, unknown>, k: string, max: number): string => {
  const v = o[k];
  if (typeof v !== 'string' || v.length === 0 || v.length > max) fail('bad-field', `${k} must be a string of 1..${max} characters`);
  return v as string;
};
const hash = (o: Record<string, unknown>, k: string): string => {
  const v = o[k];
  if (typeof v !== 'string' || !HASH_PATTERN.test(v)) fail('bad-field', `${k} must be a 64-digit lowercase hex hash`);
  return v as string;
};
const uint = (o: Record<string, unknown>, k: string, max = Number.MAX_SAFE_INTEGER): number => {
  const v = o[k];
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max) fail('bad-field', `${k} must be an integer in 0..${max}`);
  return v as number;
};
const bin = (o: Record<string, unknown>, k: string, max: number): Uint8Array => {
  const v = o[k];
  // Only msgpack bin (decoded as a Buffer), not extension types that happen to hold bytes.
  if (!Buffer.isBuffer(v)) fail('bad-field', `${k} must be msgpack bin`);
  if ((v as Uint8Array).byteLength > max) fail('oversize', `${k} is ${(v as Uint8Array).byteLength} bytes (limit ${max})`);
  return v as Uint8Array;
};
const codec = (o: Record<string, unknown>, k: string): CodecName => {
  const v = o[k];
  if (typeof v !== 'string' || !(CODEC_NAMES as ReadonlyArray<string>).includes(v)) fail('bad-field', `${k} must be one of ${CODEC_NAMES.join(', ')}`);
  return v as CodecName;
};
const hashList = (o: Record<string, unknown>, k: string, max: number): string[] => {
  const v = o[k];
  if (!Array.isArray(v) || v.length > max) fail('bad-field', `${k} must be a list of at most ${max} hashes`);
  return (v as unknown[]).map((h, i) => hash({ [`${k}[${i}]`]: h }, `${k}[${i}]`));
};

function envelope(o: Record<string, unknown>, run: string | undefined): void {
  if (o.v !== PROTOCOL_VERSION) fail('bad-version', `protocol version ${String(o.v)} (this peer speaks ${PROTOCOL_VERSION})`);
  const r = o.run;
  if (typeof r !== 'string' || !RUN_ID_PATTERN.test(r)) fail('bad-field', 'run must be a run id');
  if (run !== undefined && r !== run) fail('wrong-run', `message for run '${String(r)}'`);
}

function decodeObject(bytes: Uint8Array, maxBytes: number): Record<string, unknown> {
  if (bytes.byteLength > maxBytes) fail('oversize', `${bytes.byteLength} bytes (limit ${maxBytes})`);
  let o: unknown;
  try {
    // From a Buffer, msgpack bin decodes as Buffer views, told apart from extension types.
    o = unpackr.unpack(Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  } catch (e) {
    fail('malformed', `not msgpack: ${(e as Error).message}`);
  }
  if (!isPlainObject(o)) fail('malformed', 'top level is not a map');
  return o as Record<string, unknown>;
}

function check<T>(f: () => T): Checked<T> {
  try {
    return { ok: true, msg: f() };
  } catch (e) {
    if (e instanceof Invalid) return { ok: false, reason: e.reason, detail: e.message };
    return { ok: false, reason: 'malformed', detail: (e as Error).message };
  }
}

function parseGossip(o: Record<string, unknown>, run: string | undefined, limits: Limits): GossipMessage {
  envelope(o, run);
  const r = o.run as string;
  switch (o.t) {
    case 'hello': {
      const model = o.model;
      if (!isPlainObject(model)) fail('bad-field', 'model must be a map');
      let size = 0;
      try {
        size = JSON.stringify(model).length;
      } catch {
        fail('bad-field', 'model is not JSON data');
      }
      if (size > 16_384) fail('oversize', 'model definition over 16 KiB');
      let head: Hello['head'];
      if (o.head !== undefined) {
        if (!isPlainObject(o.head)) fail('bad-field', 'head must be a map');
        head = { seq: uint(o.head as Record<string, unknown>, 'seq'), hash: hash(o.head as Record<string, unknown>, 'hash') };
      }
      return { v: PROTOCOL_VERSION, t: 'hello', run: r, agent: str(o, 'agent', 64), model: JSON.parse(JSON.stringify(model)), mh: hash(o, 'mh'), ...(head ? { head } : {}) };
    }
    case 'announce': {
      const parent = o.parent === null ? null : hash(o, 'parent');
      let metrics: Record<string, number> | undefined;
      if (o.metrics !== undefined) {
        if (!isPlainObject(o.metrics)) fail('bad-field', 'metrics must be a map');
        const entries = Object.entries(o.metrics as Record<string, unknown>);
        if (entries.length > 16) fail('bad-field', 'at most 16 metrics');
        metrics = {};
        for (const [k, v] of entries) {
          if (k.length > 32 || typeof v !== 'number') fail('bad-field', `metric ${k.slice(0, 32)} must be a number`);
          if (!Number.isFinite(v)) fail('non-finite', `metric ${k} is ${String(v)}`);
          metrics[k] = v as number;
        }
      }
      let delta: InlineDelta | undefined;
      if (o.delta !== undefined) {
        if (!isPlainObject(o.delta)) fail('bad-field', 'delta must be a map');
        const d = o.delta as Record<string, unknown>;
        delta = { codec: codec(d, 'codec'), base: hash(d, 'base'), payload: bin(d, 'payload', limits.maxGossipBytes) };
        if (parent === null || delta.base !== parent) fail('bad-field', 'an inline delta must apply to the parent');
      }
      const n = uint(o, 'n', limits.maxParams);
      if (n === 0) fail('wrong-shape', 'n must be positive');
      return {
        v: PROTOCOL_VERSION,
        t: 'announce',
        run: r,
        seq: uint(o, 'seq'),
        hash: hash(o, 'hash'),
        parent,
        mh: hash(o, 'mh'),
        n,
        ...(metrics ? { metrics } : {}),
        ...(delta ? { delta } : {}),
      };
    }
    case 'ack':
      return { v: PROTOCOL_VERSION, t: 'ack', run: r, peer: str(o, 'peer', 128), hash: hash(o, 'hash') };
    case 'have':
      return { v: PROTOCOL_VERSION, t: 'have', run: r, peer: str(o, 'peer', 128), hashes: hashList(o, 'hashes', 64) };
    default:
      return fail('bad-type', `unknown gossip message type ${JSON.stringify(String(o.t)).slice(0, 40)}`);
  }
}

/** Size check, msgpack decode and schema validation of a gossip message. */
export function decodeGossip(bytes: Uint8Array, run?: string, limits: Limits = DEFAULT_LIMITS): Checked<GossipMessage> {
  return check(() => parseGossip(decodeObject(bytes, limits.maxGossipBytes), run, limits));
}

/** Size check, decode and validation of one stream frame. */
export function decodeStream(bytes: Uint8Array, run?: string, limits: Limits = DEFAULT_LIMITS): Checked<StreamMessage> {
  return check(() => {
    const o = decodeObject(bytes, Math.max(limits.maxChunkBytes + 64, limits.maxRequestBytes));
    if (o.t === 'chunk') return { t: 'chunk', i: uint(o, 'i'), data: bin(o, 'data', limits.maxChunkBytes) } satisfies Chunk;
    if (o.t === 'error') {
      // An error may answer a request that named no valid run, so it carries none.
      if (o.v !== PROTOCOL_VERSION) fail('bad-version', `protocol version ${String(o.v)} (this peer speaks ${PROTOCOL_VERSION})`);
      const code = o.code;
      if (code !== 'not-found' && code !== 'bad-request' && code !== 'busy') fail('bad-field', 'unknown error code');
      return { v: PROTOCOL_VERSION, t: 'error', code: code as StreamError['code'], message: str(o, 'message', 512) } satisfies StreamError;
    }
    envelope(o, run);
    const r = o.run as string;
    switch (o.t) {
      case 'want':
        return { v: PROTOCOL_VERSION, t: 'want', run: r, hash: hash(o, 'hash'), bases: hashList(o, 'bases', 16) } satisfies Want;
      case 'blob': {
        const kind = o.kind;
        if (kind !== 'state' && kind !== 'deltas') fail('bad-field', "kind must be 'state' or 'deltas'");
        const n = uint(o, 'n', limits.maxParams);
        const bytes = uint(o, 'bytes', limits.maxParams * 4);
        let steps: DeltaStep[] | undefined;
        if (kind === 'deltas') {
          if (!Array.isArray(o.steps) || o.steps.length === 0 || o.steps.length > 64) fail('bad-field', 'steps must be a list of 1..64 deltas');
          steps = (o.steps as unknown[]).map((s) => {
            if (!isPlainObject(s)) fail('bad-field', 'a step must be a map');
            const x = s as Record<string, unknown>;
            return { codec: codec(x, 'codec'), base: hash(x, 'base'), hash: hash(x, 'hash'), bytes: uint(x, 'bytes', limits.maxParams * 4) };
          });
          if (steps.reduce((a, st) => a + st.bytes, 0) !== bytes) fail('bad-field', 'step sizes do not add up to bytes');
        } else if (bytes !== 4 * n) fail('wrong-shape', `a state of ${n} values is ${4 * n} bytes, not ${bytes}`);
        return { v: PROTOCOL_VERSION, t: 'blob', run: r, hash: hash(o, 'hash'), kind: kind as 'state' | 'deltas', n, bytes, ...(steps ? { steps } : {}) } satisfies BlobHeader;
      }
      default:
        return fail('bad-type', `unknown stream message type ${JSON.stringify(String(o.t)).slice(0, 40)}`);
    }
  });
}
