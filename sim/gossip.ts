// What one message published on the run's gossipsub topic costs on the wire. Every agent is
// subscribed, so a message floods the connection graph: the publisher sends it to each peer
// it is linked to, and every other agent, on first receipt, forwards it to its links except
// the one it came from and the publisher (gossipsub's mesh is every link when degrees are
// below its D_lo of 4, as on rings and tori). Duplicate sends where two forwards cross are
// counted; gossipsub 1.2's IDONTWANT (sent only for messages over 512 bytes) is not modelled,
// so on dense graphs with large inline deltas this is an upper bound.

/** Bytes of the gossipsub RPC carrying one signed message of `data` bytes on `topic`. */
export function gossipEnvelopeBytes(data: number, topic: string): number {
  const varint = (n: number) => (n < 0x80 ? 1 : n < 0x4000 ? 2 : n < 0x200000 ? 3 : n < 0x10000000 ? 4 : 5);
  const field = (len: number) => 1 + varint(len) + len;
  // Message{from: Ed25519 peer id (38), data, seqno (8), topic, signature (64)}; the public
  // key is inlined in the peer id, so StrictSign adds no key field.
  const message = field(38) + field(data) + field(8) + field(Buffer.byteLength(topic)) + field(64);
  const rpc = field(message);
  return varint(rpc) + rpc;
}

export interface Flood {
  /** Transmissions each agent makes. */
  readonly sends: Int32Array;
  /** Copies each agent receives (duplicates included). */
  readonly receives: Int32Array;
}

/** The flood of one message from `origin` over undirected `links`, skipping agents that are `down`. */
export function flood(links: ReadonlyArray<ReadonlyArray<number>>, origin: number, down: (i: number) => boolean = () => false): Flood {
  const n = links.length;
  const sends = new Int32Array(n);
  const receives = new Int32Array(n);
  const parent = new Int32Array(n).fill(-2);
  parent[origin] = -1;
  const queue = [origin];
  for (let q = 0; q < queue.length; q++) {
    const u = queue[q];
    for (const w of links[u]) {
      // A down agent has no connections: nothing is sent to it.
      if (w === parent[u] || w === origin || down(w)) continue;
      sends[u]++;
      receives[w]++;
      if (parent[w] === -2) {
        parent[w] = u;
        queue.push(w);
      }
    }
  }
  return { sends, receives };
}

/** Undirected links of a (possibly directed) neighbour list: connections run both ways. */
export function undirectedLinks(neighbours: ReadonlyArray<ReadonlyArray<number>>): number[][] {
  const sets = neighbours.map((ns) => new Set(ns));
  neighbours.forEach((ns, i) => ns.forEach((j) => sets[j].add(i)));
  return sets.map((s) => [...s].sort((a, b) => a - b));
}
