// The far end of `mergemesh bench wire`'s throughput figure, run as a separate process: a
// peer holding one large version, plus a plain TCP socket that sends the same bytes (the
// reference the libp2p figure is compared with). Prints one JSON line with its addresses,
// then serves until its stdin closes.
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { createPeer } from '../net/peer.js';
import { createRng } from '../util/rng.js';

export interface WireServerInfo {
  readonly peer: string;
  readonly addr: string;
  readonly hash: string;
  readonly seq: number;
  readonly tcp_port: number;
}

async function main(): Promise<void> {
  const def = JSON.parse(process.argv[2]) as unknown;
  const n = Number(process.argv[3]);
  const rng = createRng(5);
  const values = Float32Array.from({ length: n }, () => rng.normal() * 0.05);
  const peer = await createPeer({ run: 'bench-wire', model: def, n, helloIntervalMs: 0 });
  const pub = await peer.publish(values);
  const bytes = new Uint8Array(values.buffer);
  const tcp = createServer((sock) => sock.end(bytes));
  await new Promise<void>((r) => tcp.listen(0, '127.0.0.1', () => r()));
  const info: WireServerInfo = { peer: peer.id, addr: peer.addresses()[0], hash: pub.version.hash, seq: pub.version.seq, tcp_port: (tcp.address() as AddressInfo).port };
  process.stdout.write(`${JSON.stringify(info)}\n`);
  process.stdin.resume();
  await new Promise((r) => process.stdin.once('end', r));
  tcp.close();
  await peer.stop();
}

await main();
