/**
 * The metrics endpoint: `GET /metrics` on its own small node:http server (Triton's :8002), so
 * scrapes never queue behind inference traffic and the port can be firewalled separately.
 * It enforces the same header, request and idle timeouts as the REST port (listener-timeouts.ts):
 * a port that answers only scrapes must not be one where slowloris sockets pile up.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type ListenerTimeouts, nodeServerTimeouts } from './listener-timeouts.js';
import type { Metrics } from './metrics.js';

/** A listening metrics server. */
export interface MetricsServer {
  readonly port: number;
  close(): Promise<void>;
}

/** Serves `metrics` on host:port (0 = ephemeral); resolves once listening. */
export async function startMetricsServer(
  metrics: Metrics,
  port: number,
  host: string,
  timeouts: ListenerTimeouts = {},
): Promise<MetricsServer> {
  // The timeouts go to createServer: it is the only place Node takes connectionsCheckingInterval.
  const server: Server = createServer(nodeServerTimeouts(timeouts), (req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('Not Found\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('Method Not Allowed\n');
      return;
    }
    metrics.exposition().then(
      (text) => res.writeHead(200, { 'content-type': metrics.contentType }).end(req.method === 'HEAD' ? '' : text),
      () => res.writeHead(500, { 'content-type': 'text/plain' }).end('metrics collection failed\n'),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
