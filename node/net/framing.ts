// Stream framing for the blob protocol: each frame is a 4-byte little-endian length and a
// msgpack message. Readers refuse frames over a limit before buffering them.
import type { Uint8ArrayList } from 'uint8arraylist';

export function frame(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + bytes.byteLength);
  new DataView(out.buffer).setUint32(0, bytes.byteLength, true);
  out.set(bytes, 4);
  return out;
}

export class FrameError extends Error {
  constructor(
    message: string,
    readonly oversize = false,
  ) {
    super(message);
  }
}

/** Yields complete frames from a stream source; throws FrameError past `maxFrame` bytes. */
export async function* readFrames(source: AsyncIterable<Uint8ArrayList | Uint8Array>, maxFrame: number): AsyncGenerator<Uint8Array> {
  let buf = new Uint8Array(0);
  for await (const chunk of source) {
    const piece = chunk instanceof Uint8Array ? chunk : chunk.subarray();
    const next = new Uint8Array(buf.byteLength + piece.byteLength);
    next.set(buf);
    next.set(piece, buf.byteLength);
    buf = next;
    while (buf.byteLength >= 4) {
      const len = new DataView(buf.buffer, buf.byteOffset, 4).getUint32(0, true);
      if (len > maxFrame) throw new FrameError(`frame of ${len} bytes exceeds the limit of ${maxFrame}`, true);
      if (buf.byteLength < 4 + len) break;
      yield buf.slice(4, 4 + len);
      buf = buf.slice(4 + len);
    }
  }
  if (buf.byteLength > 0) throw new FrameError('stream ended inside a frame');
}
