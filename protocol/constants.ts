// Protocol identifiers and limits. Every peer must agree on these; they are part of the
// wire format (docs/protocol.md).

export const PROTOCOL_VERSION = 1;

/** Gossipsub topic of a run. */
export const topicOf = (run: string): string => `/mergemesh/1/run/${run}`;

/** Stream protocol serving states and deltas by hash. */
export const BLOB_PROTOCOL = '/mergemesh/blob/1.0.0';

export interface Limits {
  /** Largest gossip message accepted (bytes, before decoding). */
  readonly maxGossipBytes: number;
  /** Largest inline delta a sender puts into an announcement. */
  readonly inlineDeltaBytes: number;
  /** Largest blob chunk on the stream protocol. */
  readonly maxChunkBytes: number;
  /** Largest full state accepted (float32 values). */
  readonly maxParams: number;
  /** Largest stream request accepted (bytes). */
  readonly maxRequestBytes: number;
}

export const DEFAULT_LIMITS: Limits = {
  // Well below gossipsub's 4 MiB frame: an oversize frame kills the stream silently.
  maxGossipBytes: 1 << 20,
  inlineDeltaBytes: 256 * 1024,
  maxChunkBytes: 256 * 1024,
  maxParams: 1 << 27,
  maxRequestBytes: 64 * 1024,
};

export const RUN_ID_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;
