// Stream framing for the blob protocol: each frame is a 4-byte little-endian length and a
// msgpack message. Readers refuse frames over a limit before buffering them.
import { Uint8ArrayList } from 'uint8arraylist';

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
  // A list of received pieces: appending is O(1), a frame is copied out once.
  const buf = new Uint8ArrayList();
  for await (const chunk of source) {
    buf.append(chunk);
    while (buf.byteLength >= 4) {
      const len = buf.getUint32(0, true);
      if (len > maxFrame) throw new FrameError(`frame of ${len} bytes exceeds the limit of ${maxFrame}`, true);
      if (buf.byteLength < 4 + len) break;
      yield buf.slice(4, 4 + len);
      buf.consume(4 + len);
    }
  }
  if (buf.byteLength > 0) throw new FrameError('stream ended inside a frame');
}
