// The REST port's connection timeouts over real loopback sockets (issue #26 item 10, S6 (b)(c)):
// slow headers, slow bodies and idle connections are closed once their timeout passes, and the
// server keeps serving. Timeouts are configured short so the tests stay fast; the asserts are
// generous bounds (closed before 5x the timeout), never speed measurements. Before the fix Node's
// connection sweep ran every 30 s, so the header and body timeouts fired only up to 30 s late.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { request } from 'undici';
import { assertSlowlorisClosed, closedWithin, ENDLESS, rawConnect } from '../../raw-socket.js';
import { echoModel } from '../real-services.js';
import { closeAll, ROW, SIMPLE, setup } from './helpers.js';

after(closeAll);

const HEADERS_MS = 300;
const REQUEST_MS = 600;
const KEEP_ALIVE_MS = 200;
/** Node closes an idle keep-alive socket 1 s after the advertised timeout, so clients close first. */
const NODE_KEEP_ALIVE_BUFFER_MS = 1_000;
const SHORT = { headersTimeoutMs: HEADERS_MS, requestTimeoutMs: REQUEST_MS, keepAliveTimeoutMs: KEEP_ALIVE_MS };
/** One execution takes longer than the whole-request timeout: that timeout is about receiving. */
const SLOW = echoModel('slow', 'INT32', [1], { delayMs: REQUEST_MS + 300 });
const inferBody = (data: number[], shape: number[]) =>
  JSON.stringify({ inputs: [{ name: 'INPUT0', datatype: 'INT32', shape, data }] });

async function listening() {
  const errors: unknown[] = [];
  const { server } = await setup({ ...SHORT, onError: (e) => errors.push(e) }, [SIMPLE, SLOW]);
  const port = await server.listen(0);
  return { server, port, errors };
}

/** A normal infer call on `model` answers 200 with its echo. */
async function assertServes(port: number, model = 'simple', data = ROW, shape = [1, ROW.length]) {
  const body = inferBody(data, shape);
  const res = await request(`http://127.0.0.1:${port}/v2/models/${model}/infer`, { method: 'POST', body });
  assert.equal(res.statusCode, 200);
  assert.deepEqual(((await res.body.json()) as { outputs: Array<{ data: number[] }> }).outputs[0]?.data, data);
}

describe('HTTP listener timeouts', () => {
  test('defaults: headers 10 s, whole request 30 s, keep-alive 5 s, swept often enough to fire on time', async () => {
    const { server } = await setup(undefined, [SIMPLE]);
    const s = server.fastify.server;
    assert.equal(s.headersTimeout, 10_000);
    assert.equal(s.requestTimeout, 30_000);
    assert.equal(s.keepAliveTimeout, 5_000);
    // Node's own 30 s sweep would let a 10 s header timeout fire at up to 40 s.
    const interval = (s as typeof s & { connectionsCheckingInterval: number }).connectionsCheckingInterval;
    assert.ok(interval <= 1_000, `connectionsCheckingInterval ${interval} ms`);
  });

  test('a slowloris socket (header bytes trickling in) is closed after the header timeout', async () => {
    const { server, port, errors } = await listening();
    await assertSlowlorisClosed(port, '/v2/health/live', HEADERS_MS);
    await assertServes(port);
    assert.deepEqual(errors, []);
    await server.close();
  });

  test('a socket that connects and sends nothing is closed after the header timeout', async () => {
    const { server, port } = await listening();
    const c = await rawConnect(port);
    const at = await closedWithin(c, 5 * HEADERS_MS);
    c.destroy();
    assert.ok(at !== undefined, 'still open at 5x the header timeout');
    await assertServes(port);
    await server.close();
  });

  test('a slow body (bytes trickling in after complete headers) is closed after the request timeout, with 408', async () => {
    const { server, port, errors } = await listening();
    const c = await rawConnect(port);
    c.socket.write(
      'POST /v2/models/simple/infer HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{',
    );
    c.trickle(ENDLESS, 50);
    const at = await closedWithin(c, 5 * REQUEST_MS);
    c.destroy();
    assert.ok(at !== undefined, 'still open at 5x the request timeout');
    // The headers were complete at once: the header timeout must not be what closed it.
    assert.ok(at >= REQUEST_MS - 50, `closed at ${at} ms, before the request timeout`);
    assert.match(c.received(), /^HTTP\/1\.1 408 /);
    await assertServes(port);
    assert.deepEqual(errors, [], 'a client timeout is no server error');
    await server.close();
  });

  test('an idle keep-alive connection is closed after the keep-alive timeout', async () => {
    const { server, port } = await listening();
    const c = await rawConnect(port);
    c.socket.write('GET /v2/health/live HTTP/1.1\r\nHost: x\r\n\r\n');
    await c.waitFor('\r\n\r\n');
    assert.match(c.received(), /^HTTP\/1\.1 200 /);
    assert.doesNotMatch(c.received(), /connection: close/i);
    const at = await closedWithin(c, 5 * KEEP_ALIVE_MS + NODE_KEEP_ALIVE_BUFFER_MS);
    c.destroy();
    assert.ok(at !== undefined, 'still open at 5x the keep-alive timeout');
    await server.close();
  });

  test('a call whose execution outlasts the request timeout is still answered (the timeout is about receiving)', async () => {
    const { server, port } = await listening();
    await assertServes(port, 'slow', [5], [1]);
    await server.close();
  });
});
