// The metrics port's connection timeouts over real loopback sockets (issue #26 item 10, S6 (b)(c)):
// the same header, request and idle timeouts as the REST port. Before the fix this node:http
// server set none (Node's 60 s / 300 s, swept every 30 s, and a 65 s keep-alive). Short timeouts
// keep the tests fast; the asserts are generous bounds (closed before 5x the timeout).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { request } from 'undici';
import type { Metrics } from '../../../src/observability/metrics.js';
import { startMetricsServer } from '../../../src/observability/metrics-server.js';
import { assertSlowlorisClosed, closedWithin, ENDLESS, rawConnect } from '../raw-socket.js';

const HEADERS_MS = 300;
const REQUEST_MS = 600;
const KEEP_ALIVE_MS = 200;
/** Node closes an idle keep-alive socket 1 s after the advertised timeout, so clients close first. */
const NODE_KEEP_ALIVE_BUFFER_MS = 1_000;
const SHORT = { headersTimeoutMs: HEADERS_MS, requestTimeoutMs: REQUEST_MS, keepAliveTimeoutMs: KEEP_ALIVE_MS };

/** Only what the server reads of Metrics: the listener is under test, not the registry. */
const metrics = {
  contentType: 'text/plain; version=0.0.4; charset=utf-8',
  exposition: async () => '# TYPE up gauge\nup 1\n',
} as unknown as Metrics;

async function assertScrapes(port: number) {
  const res = await request(`http://127.0.0.1:${port}/metrics`);
  assert.equal(res.statusCode, 200);
  assert.match(await res.body.text(), /^up 1$/m);
}

describe('metrics server timeouts', () => {
  test('serves GET /metrics', async () => {
    const server = await startMetricsServer(metrics, 0, '127.0.0.1', SHORT);
    await assertScrapes(server.port);
    await server.close();
  });

  test('a slowloris socket (header bytes trickling in) is closed after the header timeout', async () => {
    const server = await startMetricsServer(metrics, 0, '127.0.0.1', SHORT);
    await assertSlowlorisClosed(server.port, '/metrics', HEADERS_MS);
    await assertScrapes(server.port);
    await server.close();
  });

  test('a socket that connects and sends nothing is closed after the header timeout', async () => {
    const server = await startMetricsServer(metrics, 0, '127.0.0.1', SHORT);
    const c = await rawConnect(server.port);
    const at = await closedWithin(c, 5 * HEADERS_MS);
    c.destroy();
    assert.ok(at !== undefined, 'still open at 5x the header timeout');
    await assertScrapes(server.port);
    await server.close();
  });

  test('a slow body is closed after the request timeout, not the header timeout', async () => {
    const server = await startMetricsServer(metrics, 0, '127.0.0.1', SHORT);
    const c = await rawConnect(server.port);
    // The handler answers at once (405); the unread body keeps the request open until it ends.
    c.socket.write('POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n');
    c.trickle(ENDLESS, 50);
    await c.waitFor('\r\n\r\n');
    assert.match(c.received(), /^HTTP\/1\.1 405 /);
    const at = await closedWithin(c, 5 * REQUEST_MS);
    c.destroy();
    assert.ok(at !== undefined, 'still open at 5x the request timeout');
    assert.ok(at >= REQUEST_MS - 50, `closed at ${at} ms, before the request timeout`);
    await assertScrapes(server.port);
    await server.close();
  });

  test('an idle keep-alive connection is closed after the keep-alive timeout', async () => {
    const server = await startMetricsServer(metrics, 0, '127.0.0.1', SHORT);
    const c = await rawConnect(server.port);
    c.socket.write('GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n');
    await c.waitFor('up 1\n');
    assert.match(c.received(), /^HTTP\/1\.1 200 /);
    const at = await closedWithin(c, 5 * KEEP_ALIVE_MS + NODE_KEEP_ALIVE_BUFFER_MS);
    c.destroy();
    assert.ok(at !== undefined, 'still open at 5x the keep-alive timeout');
    await server.close();
  });
});
