// Every error a client sees has the server's {"error": …} shape, never fastify's own or Node's, and
// names the request id its log lines carry (reliability.md S19).
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { rawConnect } from '../../raw-socket.js';
import { closeAll, ECHOES, postJson, setup } from './helpers.js';

after(closeAll);

async function raw(port: number, text: string): Promise<string> {
  const c = await rawConnect(port);
  c.socket.write(text);
  await new Promise<void>((resolve) => c.socket.once('close', () => resolve()));
  return c.received();
}

const shapeOnly = (text: string) => {
  const body = text.slice(text.indexOf('\r\n\r\n') + 4);
  const json = JSON.parse(body) as Record<string, unknown>;
  assert.deepEqual(Object.keys(json), ['error'], body);
  assert.doesNotMatch(body, /Client Error|statusCode|FST_/);
  return json.error as string;
};

describe('error hygiene', () => {
  test('malformed HTTP, oversized headers and undecodable URLs answer in the {"error"} shape', async () => {
    const { server } = await setup(undefined, ECHOES);
    const port = await server.listen(0);
    const garbage = await raw(port, 'NOT HTTP AT ALL\r\n\r\n');
    assert.match(garbage, /^HTTP\/1\.1 400 /);
    assert.equal(shapeOnly(garbage), 'malformed HTTP request');
    const huge = await raw(port, `GET /v2 HTTP/1.1\r\nhost: x\r\nx-big: ${'a'.repeat(20_000)}\r\n\r\n`);
    assert.match(huge, /^HTTP\/1\.1 431 /);
    assert.equal(shapeOnly(huge), 'the request headers are too large');
    const badUrl = await raw(port, 'GET /v2/models/%zz HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n');
    assert.match(badUrl, /^HTTP\/1\.1 400 /);
    assert.equal(shapeOnly(badUrl), 'malformed percent-encoding in the request path');
    await server.close();
  });

  test('infer answers and errors carry infergate-request-id: the client id when it is a token, else a generated one', async () => {
    const { app } = await setup(undefined, ECHOES);
    const ok = await app.inject(
      postJson('/v2/models/echo_int32/infer', {
        id: 'req-7',
        inputs: [{ name: 'INPUT0', datatype: 'INT32', shape: [1, 1], data: [1] }],
      }),
    );
    assert.equal(ok.statusCode, 200);
    assert.equal(ok.headers['infergate-request-id'], 'req-7');
    const bad = await app.inject(
      postJson('/v2/models/echo_int32/infer', {
        inputs: [{ name: 'NOPE', datatype: 'INT32', shape: [1, 1], data: [1] }],
      }),
    );
    assert.equal(bad.statusCode, 400);
    assert.match(String(bad.headers['infergate-request-id']), /^[0-9a-f]{8}-\d+$/);
    // A client id that is not a header-safe token is never echoed into a header.
    const odd = await app.inject(
      postJson('/v2/models/echo_int32/infer', {
        id: 'a\r\nset-cookie: x',
        inputs: [{ name: 'INPUT0', datatype: 'INT32', shape: [1, 1], data: [1] }],
      }),
    );
    assert.equal(odd.statusCode, 200);
    assert.equal(odd.headers['infergate-request-id'], undefined);
    assert.equal(odd.headers['set-cookie'], undefined);
  });
});
