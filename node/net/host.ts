// The libp2p host of a peer: TCP (or the in-memory transport), noise, yamux, identify, ping
// and gossipsub with StrictSign, a score function that penalises invalid messages, and
// membership enforced twice: a connection gater (non-members cannot connect at all) and an
// optional private-network key (without it no connection even starts).
import type { GossipSub } from '@chainsafe/libp2p-gossipsub';
import { gossipsub } from '@chainsafe/libp2p-gossipsub';
import { createTopicScoreParams } from '@chainsafe/libp2p-gossipsub/score';
import { noise } from '@chainsafe/libp2p-noise';
import { yamux } from '@chainsafe/libp2p-yamux';
import { bootstrap } from '@libp2p/bootstrap';
import { identify } from '@libp2p/identify';
import type { Identify } from '@libp2p/identify';
import type { Libp2p, PrivateKey } from '@libp2p/interface';
import { mdns } from '@libp2p/mdns';
import { memory } from '@libp2p/memory';
import { preSharedKey } from '@libp2p/pnet';
import { ping, type PingService } from '@libp2p/ping';
import { prometheusMetrics } from '@libp2p/prometheus-metrics';
import { tcp } from '@libp2p/tcp';
import { createLibp2p } from 'libp2p';
import type { Registry } from 'prom-client';
import '../util/polyfill.js';
import type { WireMeter } from './wire-meter.js';
import type { Limits } from '../../protocol/constants.js';

export type Host = Libp2p<{ identify: Identify; ping: PingService; pubsub: GossipSub }>;

export interface HostOptions {
  readonly listen: ReadonlyArray<string>;
  readonly transport: 'tcp' | 'memory';
  readonly privateKey?: PrivateKey;
  readonly bootstrap?: ReadonlyArray<string>;
  readonly mdns?: boolean;
  /** Peer ids allowed to connect (every connection is refused otherwise). */
  readonly members?: ReadonlySet<string>;
  /** libp2p private-network key (the 95-byte swarm.key format). */
  readonly psk?: Uint8Array;
  readonly topic: string;
  readonly limits: Limits;
  /** Registers libp2p's own metrics here. */
  readonly registry?: Registry;
  /** Counts bytes per connection and protocol instead (the simulator's wire check). */
  readonly meter?: WireMeter;
}

export async function createHost(o: HostOptions): Promise<Host> {
  const member = (id: { toString(): string }) => !o.members || o.members.has(id.toString());
  const discovery = [...(o.bootstrap?.length ? [bootstrap({ list: [...o.bootstrap] })] : []), ...(o.mdns ? [mdns()] : [])];
  // A fresh options object per host: createLibp2p mutates it (it adds the private key).
  const node = await createLibp2p({
    ...(o.privateKey ? { privateKey: o.privateKey } : {}),
    addresses: { listen: [...o.listen] },
    transports: [o.transport === 'memory' ? memory() : tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux({ maxMessageSize: 256 * 1024, maxStreamWindowSize: 16 * 1024 * 1024 })],
    ...(o.psk ? { connectionProtector: preSharedKey({ psk: o.psk }) } : {}),
    connectionGater: {
      denyDialPeer: (id) => !member(id),
      denyInboundEncryptedConnection: (id) => !member(id),
      denyOutboundEncryptedConnection: (id) => !member(id),
    },
    // Loopback clusters dial one host many times a second; libp2p's default allows 5.
    connectionManager: { maxConnections: 300, inboundConnectionThreshold: 1000, maxIncomingPendingConnections: 100 },
    peerDiscovery: discovery,
    ...(o.meter ? { metrics: o.meter.service } : o.registry ? { metrics: prometheusMetrics({ registry: o.registry, collectDefaultMetrics: false, preserveExistingMetrics: true }) } : {}),
    services: {
      identify: identify(),
      ping: ping(),
      pubsub: gossipsub({
        globalSignaturePolicy: 'StrictSign',
        allowPublishToZeroTopicPeers: true,
        emitSelf: false,
        fallbackToFloodsub: false,
        // Raised on every peer alike, with room for RPC framing around a full message.
        maxInboundDataLength: o.limits.maxGossipBytes + 64 * 1024,
        scoreParams: {
          topics: {
            [o.topic]: createTopicScoreParams({ topicWeight: 1, invalidMessageDeliveriesWeight: -10, invalidMessageDeliveriesDecay: 0.9 }),
          },
        },
      }) as never,
    },
  });
  return node as unknown as Host;
}
