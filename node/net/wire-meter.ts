// An independent count of what libp2p actually moves: a libp2p metrics service that wraps
// every connection (bytes after encryption and multiplexing, what the transport carries) and
// every protocol stream (bytes a protocol writes, before muxing). The simulator's libp2p mode
// compares the bytes its agents count against these.
import type { Metrics, MultiaddrConnection, Stream } from '@libp2p/interface';

export interface WireCounts {
  /** Connection-level bytes sent (noise + yamux + every protocol). */
  readonly transportSent: number;
  readonly transportReceived: number;
  /** Protocol id → bytes written to its streams. */
  readonly protocolSent: ReadonlyMap<string, number>;
  readonly protocolReceived: ReadonlyMap<string, number>;
}

export interface WireMeter {
  /** The libp2p `metrics` option (a factory; one meter may serve many hosts and sums them). */
  readonly service: () => Metrics;
  counts(): WireCounts;
}

// libp2p and gossipsub register gauges and counters of their own; the meter accepts them all
// and keeps nothing (a callable proxy answers any method with another no-op).
const noop: unknown = new Proxy(function () {}, {
  get: (_t, key) => (key === 'then' ? undefined : noop),
  apply: () => noop,
});

type Source = AsyncGenerator<Uint8Array | { byteLength: number }> | AsyncIterable<Uint8Array | { byteLength: number }>;

export function createWireMeter(): WireMeter {
  const counts = { transportSent: 0, transportReceived: 0, protocolSent: new Map<string, number>(), protocolReceived: new Map<string, number>() };
  const add = (m: Map<string, number>, k: string, n: number) => m.set(k, (m.get(k) ?? 0) + n);

  function track(s: { sink: (src: Source) => Promise<void>; source: Source }, onSent: (n: number) => void, onReceived: (n: number) => void): void {
    const sink = s.sink;
    s.sink = async (source: Source) => {
      await sink(
        (async function* () {
          for await (const b of source) {
            onSent(b.byteLength);
            yield b;
          }
        })(),
      );
    };
    const source = s.source;
    s.source = (async function* () {
      for await (const b of source) {
        onReceived(b.byteLength);
        yield b;
      }
    })();
  }

  const metrics = {
    trackMultiaddrConnection(maConn: MultiaddrConnection) {
      track(
        maConn as unknown as { sink: (src: Source) => Promise<void>; source: Source },
        (n) => void (counts.transportSent += n),
        (n) => void (counts.transportReceived += n),
      );
    },
    trackProtocolStream(stream: Stream) {
      const p = stream.protocol;
      if (!p) return;
      track(
        stream as unknown as { sink: (src: Source) => Promise<void>; source: Source },
        (n) => add(counts.protocolSent, p, n),
        (n) => add(counts.protocolReceived, p, n),
      );
    },
    registerMetric: () => noop,
    registerMetricGroup: () => noop,
    registerCounter: () => noop,
    registerCounterGroup: () => noop,
    registerHistogram: () => noop,
    registerHistogramGroup: () => noop,
    registerSummary: () => noop,
    registerSummaryGroup: () => noop,
    createTrace: () => undefined,
    traceFunction: <F>(_name: string, fn: F) => fn,
  };
  return {
    service: () => metrics as unknown as Metrics,
    counts: () => ({ ...counts, protocolSent: new Map(counts.protocolSent), protocolReceived: new Map(counts.protocolReceived) }),
  };
}
