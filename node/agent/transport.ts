// What an agent needs from the network, and nothing more: announce a version, learn what its
// neighbours announced, fetch a version by hash, wait for a round, and a clock. The simulator
// implements it over a virtual network on a virtual clock; node/agent/libp2p-transport.ts over
// real libp2p peers. Agents are numbered 0…n−1 in a run (a peer id is a transport detail).

export interface VersionMeta {
  /** The publisher's round when it announced the version (0: before the first merge). */
  readonly round: number;
  /** The frame the weights are in: the index of the agent whose unit order they use. */
  readonly frame: number;
}

export interface KnownVersion {
  readonly agent: number;
  readonly seq: number;
  readonly hash: string;
  readonly meta: VersionMeta;
  /** Transport time (s) at which this peer learnt of it. */
  readonly at: number;
}

export interface HeldVersion extends KnownVersion {
  /** The version's values (shared, read-only). */
  readonly values: Float32Array;
}

export interface Neighbourhood {
  /** This agent's own mixing weight. */
  readonly self: number;
  /** The agents it merges with this round, with their mixing weights. */
  readonly peers: ReadonlyArray<{ readonly agent: number; readonly weight: number }>;
}

export interface Traffic {
  /** Version traffic: announcements (with inline deltas) and blob transfers, in bytes. */
  readonly sent: number;
  readonly received: number;
  /** Control messages (hello, ack, have). */
  readonly control: number;
}

export interface Transport {
  readonly agent: number;
  /** Seconds on the transport's clock (virtual in simulation). */
  now(): number;
  /** Lets `seconds` of (virtual) time pass; on a wall clock, time passes by itself. */
  sleep(seconds: number): Promise<void>;
  /** Whether this agent is up in `round` (churn). */
  online(round: number): boolean;
  neighbours(round: number): Neighbourhood;
  /**
   * Optional: does an announcement's local work (encoding, hashing) now, for `values` that the
   * next announce is then given unchanged. The loop calls it when training ends in real time:
   * in simulation announce itself waits for the virtual clock, by when every agent has
   * finished training, and the work would run alone while the workers idle.
   */
  prepare?(values: Float32Array, meta: VersionMeta): void;
  /** Publishes `values`; the result holds the version as peers will rebuild it (lossy codecs differ from `values`). */
  announce(values: Float32Array, meta: VersionMeta): Promise<{ readonly seq: number; readonly hash: string; readonly values: Float32Array }>;
  /** The newest version of `agent` this peer has heard of. */
  known(agent: number): KnownVersion | undefined;
  /** The values of `agent`'s version `hash` (held, or pulled now); undefined if unreachable. */
  fetch(agent: number, hash: string): Promise<HeldVersion | undefined>;
  /** Resolves once every agent in `agents` is known at `round` or later, or after `timeoutS`. */
  awaitRound(agents: ReadonlyArray<number>, round: number, timeoutS: number): Promise<void>;
  traffic(): Traffic;
}
