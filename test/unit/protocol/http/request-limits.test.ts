// Issue #26 items 3-5: one request must not cost the event loop seconds. JSON has its own size
// limits (request and response), parameters and ranks are capped, BYTES element counts are bounded,
// and one pipelining connection cannot flood the router.
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, describe, test } from 'node:test';
import zlib from 'node:zlib';
import { echoModel } from '../real-services.js';
import { binaryBody, closeAll, ECHOES, postBinary, postJson, setup } from './helpers.js';

after(closeAll);

const URL = '/v2/models/echo_int32/infer';
const ints = (n: number) => ({
  name: 'INPUT0',
  datatype: 'INT32',
  shape: [1, n],
  data: Array.from({ length: n }, (_, i) => i),
});

describe('JSON size limits', () => {
  test('a JSON body over --max-json-bytes → 413 naming the limit and the binary extension, before it is read', async () => {
    const { app, real } = await setup({ maxJsonBytes: 1024 }, ECHOES);
    const res = await app.inject(postJson(URL, { inputs: [ints(400)] }));
    assert.equal(res.statusCode, 413);
    assert.match(
      res.json().error,
      /JSON of the inference request exceeds the limit of 1024 bytes.*binary tensor extension/,
    );
    assert.equal(real.calls.length, 0);
    // The same tensor in binary is fine: the limit is on JSON, not on data.
    const data = new Uint8Array(new Int32Array(400).buffer);
    const header = {
      inputs: [{ name: 'INPUT0', datatype: 'INT32', shape: [1, 400], parameters: { binary_data_size: 1600 } }],
    };
    assert.equal((await app.inject(postBinary(URL, header, [data]))).statusCode, 200);
  });

  test('a binary request whose JSON header is over the limit → 413, also when the body is compressed', async () => {
    const { app } = await setup({ maxJsonBytes: 256 }, ECHOES);
    const header = {
      id: 'x'.repeat(400),
      inputs: [{ name: 'INPUT0', datatype: 'INT32', shape: [1, 1], parameters: { binary_data_size: 4 } }],
    };
    const plain = await app.inject(postBinary(URL, header, [new Uint8Array(4)]));
    assert.equal(plain.statusCode, 413);
    const { body, headerLength } = binaryBody(header, [new Uint8Array(4)]);
    const gz = await app.inject({
      method: 'POST',
      url: URL,
      payload: zlib.gzipSync(body),
      headers: {
        'content-type': 'application/octet-stream',
        'content-encoding': 'gzip',
        'inference-header-content-length': String(headerLength),
      },
    });
    assert.equal(gz.statusCode, 413, gz.body);
    assert.match(gz.json().error, /exceeds the limit of 256 bytes/);
  });

  test('JSON outputs over --max-json-response-elements → 413 pointing to binary outputs; binary outputs pass', async () => {
    const { app } = await setup({ maxJsonResponseElements: 8 }, ECHOES);
    const res = await app.inject(postJson(URL, { inputs: [ints(9)] }));
    assert.equal(res.statusCode, 413);
    assert.match(res.json().error, /9 output elements as JSON, over the limit of 8.*binary_data_output/);
    const bin = await app.inject(postJson(URL, { inputs: [ints(9)], parameters: { binary_data_output: true } }));
    assert.equal(bin.statusCode, 200);
    assert.equal((await app.inject(postJson(URL, { inputs: [ints(8)] }))).statusCode, 200);
  });
});

describe('caps that keep work and error messages small', () => {
  test('more than 256 parameters → 400 naming the cap', async () => {
    const { app } = await setup(undefined, ECHOES);
    const parameters = Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`p${i}`, i]));
    const res = await app.inject(postJson(URL, { inputs: [ints(2)], parameters }));
    assert.equal(res.statusCode, 400);
    assert.match(res.json().error, /'parameters' of the request has 300 entries; at most 256/);
  });

  test('a shape of a million dimensions → 400 with a short message', async () => {
    const { app } = await setup(undefined, ECHOES);
    const shape = new Array(1_000_000).fill(1);
    const res = await app.inject(postJson(URL, { inputs: [{ name: 'INPUT0', datatype: 'INT32', shape, data: [1] }] }));
    assert.equal(res.statusCode, 400);
    assert.match(res.json().error, /has 1000000 dimensions; at most 32 are supported/);
    assert.ok(res.body.length < 300, `error body of ${res.body.length} bytes`);
  });

  test('BYTES inputs with more elements than --max-bytes-elements → 400 before any element is decoded', async () => {
    const { app, real } = await setup({ maxBytesElements: 10 }, [echoModel('echo_bytes', 'BYTES', [-1, -1])]);
    const url = '/v2/models/echo_bytes/infer';
    const json = await app.inject(
      postJson(url, { inputs: [{ name: 'INPUT0', datatype: 'BYTES', shape: [1, 11], data: new Array(11).fill('') }] }),
    );
    assert.equal(json.statusCode, 400);
    assert.match(json.json().error, /input 'INPUT0' has 11 BYTES elements; at most 10/);
    const wire = new Uint8Array(11 * 4); // 11 empty elements: a zero length prefix each
    const header = {
      inputs: [{ name: 'INPUT0', datatype: 'BYTES', shape: [1, 11], parameters: { binary_data_size: 44 } }],
    };
    assert.equal((await app.inject(postBinary(url, header, [wire]))).statusCode, 400);
    assert.equal(real.calls.length, 0);
    const ok = await app.inject(
      postJson(url, { inputs: [{ name: 'INPUT0', datatype: 'BYTES', shape: [1, 10], data: new Array(10).fill('a') }] }),
    );
    assert.equal(ok.statusCode, 200, ok.body);
  });
});

describe('pipelining', () => {
  test('one connection pipelining 40 requests has at most 8 in the router at once; all are answered in order', async () => {
    const { server, real } = await setup(undefined, [echoModel('delay', 'INT32', [-1, -1], { delayMs: 25 })]);
    const port = await server.listen(0);
    const body = (i: number) =>
      JSON.stringify({ id: `r${i}`, inputs: [{ name: 'INPUT0', datatype: 'INT32', shape: [1, 1], data: [i] }] });
    const wire = Array.from({ length: 40 }, (_, i) => {
      const b = body(i);
      return `POST /v2/models/delay/infer HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(b)}\r\n\r\n${b}`;
    }).join('');
    const socket = connect(port, '127.0.0.1');
    let text = '';
    socket.on('data', (d) => {
      text += d.toString();
    });
    socket.write(wire);
    await new Promise((r) => setTimeout(r, 100));
    // One instance at 25 ms each: ~4 have finished; without the bound all 40 would be in the router.
    assert.ok(real.calls.length <= 8 + 6, `${real.calls.length} calls entered the router after 100 ms`);
    for (let i = 0; i < 200 && (text.match(/HTTP\/1\.1 200/g) ?? []).length < 40; i++)
      await new Promise((r) => setTimeout(r, 25));
    socket.destroy();
    const ids = [...text.matchAll(/"id":"(r\d+)"/g)].map((m) => m[1]);
    assert.deepEqual(
      ids,
      Array.from({ length: 40 }, (_, i) => `r${i}`),
    );
    await server.close();
  });
});
