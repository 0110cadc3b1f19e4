// /mergemesh/blob/1.0.0: a requester sends one `want` frame; the server answers with a
// `blob` header (a full state or a chain of deltas from a base the requester holds) and the
// payload in chunk frames, or an `error`. Backpressure is yamux's flow control: chunks are
// produced lazily as the stream accepts them.
import type { Libp2p, PeerId, Stream } from '@libp2p/interface';
import { BLOB_PROTOCOL, PROTOCOL_VERSION, type Limits } from '../../protocol/constants.js';
import { decodeStream, encodeMessage, encodedSize, type BlobHeader, type RejectReason, type StreamError, type Want } from '../../protocol/messages.js';
import type { ResponsePlan } from '../../protocol/versions.js';
import { FrameError, frame, readFrames } from './framing.js';

export interface BlobServerOptions {
  readonly run: string;
  readonly limits: Limits;
  /** How to serve a request: this peer's own versions, or any version it holds by hash. */
  readonly plan: (hash: string, bases: ReadonlyArray<string>) => ResponsePlan | undefined;
  /** Requests served at once; more get a 'busy' error (default 8). */
  readonly maxConcurrent?: number;
  readonly onServed?: (bytes: number) => void;
  readonly onReject?: (reason: RejectReason) => void;
}

type Request = { readonly ok: true; readonly want: Want } | { readonly ok: false; readonly reason: RejectReason; readonly detail: string };

async function readRequest(stream: Stream, run: string, limits: Limits): Promise<Request> {
  let bytes: Uint8Array | undefined;
  try {
    for await (const f of readFrames(stream.source, limits.maxRequestBytes)) {
      bytes = f;
      break;
    }
  } catch (e) {
    if (e instanceof FrameError) return { ok: false, reason: e.oversize ? 'oversize' : 'malformed', detail: e.message };
    throw e;
  }
  if (!bytes) return { ok: false, reason: 'malformed', detail: 'no request' };
  const req = decodeStream(bytes, run, limits);
  if (!req.ok) return req;
  if (req.msg.t !== 'want') return { ok: false, reason: 'bad-type', detail: `expected a want message, got ${req.msg.t}` };
  return { ok: true, want: req.msg };
}

export async function serveBlobs(node: Libp2p, o: BlobServerOptions): Promise<void> {
  let active = 0;
  await node.handle(
    BLOB_PROTOCOL,
    async ({ stream }) => {
      const reply = async (frames: AsyncIterable<Uint8Array> | Iterable<Uint8Array>) => {
        await stream.sink(frames);
      };
      const error = (code: StreamError['code'], message: string) =>
        reply([frame(encodeMessage({ v: PROTOCOL_VERSION, t: 'error', code, message: message.slice(0, 512) || code } satisfies StreamError))]);
      try {
        const req = await readRequest(stream, o.run, o.limits);
        if (!req.ok) {
          o.onReject?.(req.reason);
          await error('bad-request', req.detail);
          return;
        }
        if (active >= (o.maxConcurrent ?? 8)) {
          await error('busy', 'too many requests in progress');
          return;
        }
        active++;
        try {
          const want = req.want;
          const plan = o.plan(want.hash, want.bases);
          if (!plan) {
            await error('not-found', `version ${want.hash.slice(0, 12)}… is not held`);
            return;
          }
          const header: BlobHeader = {
            v: PROTOCOL_VERSION,
            t: 'blob',
            run: o.run,
            hash: plan.version.hash,
            kind: plan.kind,
            n: plan.version.values.length,
            bytes: plan.payload.byteLength,
            ...(plan.kind === 'deltas' ? { steps: plan.steps } : {}),
          };
          let sent = 0;
          await reply(
            (function* () {
              for (const f of blobFrames(header, plan.payload, o.limits.maxChunkBytes)) {
                sent += f.byteLength;
                yield f;
              }
            })(),
          );
          o.onServed?.(sent);
        } finally {
          active--;
        }
      } catch {
        stream.abort(new Error('blob request failed'));
      }
    },
    { maxInboundStreams: 16 },
  );
}

/** The frames of a response, produced lazily (one chunk in memory at a time). */
export function* blobFrames(header: BlobHeader, payload: Uint8Array, chunk: number): Generator<Uint8Array> {
  yield frame(encodeMessage(header));
  for (let i = 0, off = 0; off < payload.byteLength; i++, off += chunk) yield frame(encodeMessage({ t: 'chunk', i, data: payload.subarray(off, off + chunk) }));
}

const NO_DATA = new Uint8Array(0);

/** The bytes blobFrames would yield for a payload of `payloadBytes`, without building them. */
export function blobFrameBytes(header: BlobHeader, payloadBytes: number, chunk: number): number {
  let total = 4 + encodedSize(header);
  for (let i = 0, off = 0; off < payloadBytes; i++, off += chunk) total += 4 + encodedSize({ t: 'chunk', i, data: NO_DATA }, Math.min(chunk, payloadBytes - off));
  return total;
}

/** The request frame of a want. */
export const wantFrame = (want: Want): Uint8Array => frame(encodeMessage(want));

export interface FetchedBlob {
  readonly header: BlobHeader;
  readonly payload: Uint8Array;
  /** Bytes of every frame received (header and chunks, with their length prefixes). */
  readonly wireBytes: number;
}

export class BlobError extends Error {
  constructor(
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

/** Requests a version; validates every frame and the payload's size against the header. */
export async function fetchBlob(node: Libp2p, peer: PeerId, want: Want, o: { limits: Limits; timeoutMs: number; n: number }): Promise<FetchedBlob> {
  const signal = AbortSignal.timeout(o.timeoutMs);
  const stream = await node.dialProtocol(peer, BLOB_PROTOCOL, { signal });
  // A server that stalls mid-transfer must not hold the reader forever.
  const onAbort = () => stream.abort(new BlobError('timeout', 'blob transfer timed out'));
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    await stream.sink([wantFrame(want)]);
    let header: BlobHeader | undefined;
    let payload: Uint8Array | undefined;
    let filled = 0;
    let next = 0;
    let wireBytes = 0;
    for await (const f of readFrames(stream.source, o.limits.maxChunkBytes + 256)) {
      if (signal.aborted) throw new BlobError('timeout', 'blob transfer timed out');
      wireBytes += 4 + f.byteLength;
      const m = decodeStream(f, want.run, o.limits);
      if (!m.ok) throw new BlobError(m.reason, m.detail);
      if (!header) {
        if (m.msg.t === 'error') throw new BlobError(m.msg.code, m.msg.message);
        if (m.msg.t !== 'blob') throw new BlobError('bad-type', `expected a blob header, got ${m.msg.t}`);
        if (m.msg.hash !== want.hash) throw new BlobError('bad-field', 'the header names another version');
        if (m.msg.n !== o.n) throw new BlobError('wrong-shape', `${m.msg.n} values, the model has ${o.n}`);
        if (m.msg.kind === 'deltas' && !m.msg.steps!.length) throw new BlobError('bad-field', 'empty delta chain');
        // Deltas are only worth sending when smaller than the state they lead to.
        if (m.msg.kind === 'deltas' && m.msg.bytes > 4 * o.n) throw new BlobError('oversize', `a delta chain of ${m.msg.bytes} bytes for ${o.n} values`);
        header = m.msg;
        // Allocated only after the header passed its size checks.
        payload = new Uint8Array(header.bytes);
        continue;
      }
      if (m.msg.t !== 'chunk' || m.msg.i !== next++) throw new BlobError('bad-field', 'chunks out of order');
      if (filled + m.msg.data.byteLength > payload!.byteLength) throw new BlobError('oversize', 'more payload than announced');
      payload!.set(m.msg.data, filled);
      filled += m.msg.data.byteLength;
    }
    if (!header || !payload) throw new BlobError('malformed', 'no response');
    if (filled !== payload.byteLength) throw new BlobError('bad-payload', `${filled} of ${payload.byteLength} bytes received`);
    return { header, payload, wireBytes };
  } catch (e) {
    stream.abort(e instanceof Error ? e : new Error(String(e)));
    if (e instanceof BlobError) throw e;
    if (signal.aborted) throw new BlobError('timeout', 'blob transfer timed out');
    if (e instanceof FrameError) throw new BlobError(e.oversize ? 'oversize' : 'malformed', e.message);
    throw new BlobError(signal.aborted ? 'timeout' : 'transport', (e as Error).message);
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}
