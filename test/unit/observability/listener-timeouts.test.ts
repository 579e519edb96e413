// The timeout settings both HTTP/1 listeners (REST and metrics) hand to http.createServer.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { test } from 'node:test';
import { nodeServerTimeouts } from '../../../src/observability/listener-timeouts.js';

test('defaults: headers 10 s, whole request 30 s, keep-alive 5 s, swept at least every second', () => {
  const t = nodeServerTimeouts();
  assert.equal(t.headersTimeout, 10_000);
  assert.equal(t.requestTimeout, 30_000);
  assert.equal(t.keepAliveTimeout, 5_000);
  // S6 wants the 10 s and 30 s timeouts to fire within ±1 s; Node's default sweep is every 30 s.
  assert.ok(t.connectionsCheckingInterval <= 1_000, `${t.connectionsCheckingInterval} ms`);
});

test('the sweep follows short timeouts, within bounds', () => {
  assert.ok(nodeServerTimeouts({ headersTimeoutMs: 300, requestTimeoutMs: 600 }).connectionsCheckingInterval <= 30);
  assert.ok(nodeServerTimeouts({ headersTimeoutMs: 1, requestTimeoutMs: 1 }).connectionsCheckingInterval >= 10);
  assert.ok(nodeServerTimeouts({ headersTimeoutMs: 0, requestTimeoutMs: 0 }).connectionsCheckingInterval <= 1_000);
});

test('the header timeout never exceeds the request timeout (Node refuses that), unless one is off', () => {
  assert.equal(nodeServerTimeouts({ headersTimeoutMs: 10_000, requestTimeoutMs: 2_000 }).headersTimeout, 2_000);
  assert.equal(nodeServerTimeouts({ headersTimeoutMs: 10_000, requestTimeoutMs: 0 }).headersTimeout, 10_000);
  assert.equal(nodeServerTimeouts({ headersTimeoutMs: 0, requestTimeoutMs: 2_000 }).headersTimeout, 0);
  for (const t of [{ headersTimeoutMs: 10_000, requestTimeoutMs: 2_000 }, {}, { requestTimeoutMs: 0 }]) {
    createServer(nodeServerTimeouts(t)).close();
  }
});
