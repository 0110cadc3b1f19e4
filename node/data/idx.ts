// The IDX format of MNIST and Fashion-MNIST: a big-endian header (magic, dimensions) and
// raw uint8 data. Parsed with strict checks so that a truncated or wrong file is named,
// never half-read.

export interface IdxArray {
  readonly dims: ReadonlyArray<number>;
  /** A view into the file's bytes (no copy). */
  readonly data: Uint8Array;
}

export function parseIdx(bytes: Uint8Array, what: string, expectedRank: number): IdxArray {
  if (bytes.length < 4) throw new Error(`${what}: file too short for an IDX header (${bytes.length} bytes)`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = dv.getUint32(0, false);
  const dtype = (magic >> 8) & 0xff;
  const rank = magic & 0xff;
  if (magic >> 16 !== 0 || dtype !== 0x08) throw new Error(`${what}: not a uint8 IDX file (magic 0x${magic.toString(16)})`);
  if (rank !== expectedRank) throw new Error(`${what}: expected rank ${expectedRank}, file has rank ${rank}`);
  const header = 4 + 4 * rank;
  if (bytes.length < header) throw new Error(`${what}: truncated header`);
  const dims = Array.from({ length: rank }, (_, i) => dv.getUint32(4 + 4 * i, false));
  const count = dims.reduce((a, b) => a * b, 1);
  if (bytes.length !== header + count) {
    throw new Error(`${what}: header says ${count} values but the file holds ${bytes.length - header} (truncated or corrupt)`);
  }
  return { dims, data: bytes.subarray(header) };
}
