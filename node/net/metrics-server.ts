// The Prometheus endpoint of a node: GET /metrics renders the registry (libp2p's metrics and
// ours); everything else is 404. Bound to the configured address only.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

export interface MetricsServer {
  /** The bound address, e.g. 127.0.0.1:9464. */
  readonly address: string;
  close(): Promise<void>;
}

export async function startMetricsServer(o: { listen: string; registry: Registry; beforeScrape?: () => void }): Promise<MetricsServer> {
  const i = o.listen.lastIndexOf(':');
  const host = o.listen.slice(0, i);
  const port = Number(o.listen.slice(i + 1));
  if (!host || !Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`metrics listen address ${o.listen} is not host:port`);
  const server: Server = createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '/').split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: the metrics are at /metrics\n');
      return;
    }
    o.beforeScrape?.();
    o.registry
      .metrics()
      .then((text) => res.writeHead(200, { 'content-type': o.registry.contentType }).end(text))
      .catch((e: Error) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`${e.message}\n`));
  });
  await new Promise<void>((ok, fail) => {
    server.once('error', (e: NodeJS.ErrnoException) => fail(new Error(`cannot serve metrics on ${o.listen}: ${e.code === 'EADDRINUSE' ? 'address in use' : e.message}`)));
    server.listen(port, host, () => ok());
  });
  const addr = server.address() as AddressInfo;
  return {
    address: `${addr.family === 'IPv6' ? `[${addr.address}]` : addr.address}:${addr.port}`,
    close: () =>
      new Promise<void>((ok) => {
        server.closeAllConnections();
        server.close(() => ok());
      }),
  };
}
