import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import zlib from 'node:zlib';
import { binaryBody, closeAll, ECHOES, postJson, setup, splitResponse } from './helpers.js';
import { sampleTensor } from './tensors.js';

after(closeAll);

const URL = '/v2/models/echo_int32/infer';
const body = { inputs: [{ name: 'INPUT0', datatype: 'INT32', shape: [1, 4], data: [1, 2, 3, 4] }] };

describe('body limits and compression', () => {
  test('body over the limit → 413 naming the limit', async () => {
    const { app } = await setup({ maxBodyBytes: 1024 }, ECHOES);
    const res = await app.inject(postJson(URL, { inputs: [], pad: 'x'.repeat(2000) }));
    assert.equal(res.statusCode, 413);
    assert.match(res.json().error, /request body exceeds the limit of 1024 bytes/);
  });

  test('gzip bomb: decompressed size over the limit → 413, counted while streaming', async () => {
    const { app } = await setup({ maxBodyBytes: 64 * 1024 }, ECHOES);
    const bomb = zlib.gzipSync(Buffer.alloc(50 * 1024 * 1024, 0x20));
    assert.ok(bomb.byteLength < 64 * 1024);
    const res = await app.inject({
      method: 'POST',
      url: URL,
      payload: bomb,
      headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
    });
    assert.equal(res.statusCode, 413);
    assert.match(res.json().error, /decompressed request body exceeds the limit of 65536 bytes/);
  });

  test('gzip and deflate requests are decoded; unknown or corrupt encodings → 400', async () => {
    const { app } = await setup(undefined, ECHOES);
    const json = Buffer.from(JSON.stringify(body));
    for (const [encoding, payload] of [
      ['gzip', zlib.gzipSync(json)],
      ['deflate', zlib.deflateSync(json)],
    ] as const) {
      const res = await app.inject({ method: 'POST', url: URL, payload, headers: { 'content-encoding': encoding } });
      assert.equal(res.statusCode, 200, encoding);
      assert.deepEqual(res.json().outputs[0].data, [1, 2, 3, 4]);
    }
    const br = await app.inject({ method: 'POST', url: URL, payload: json, headers: { 'content-encoding': 'br' } });
    assert.equal(br.statusCode, 415);
    assert.match(br.json().error, /unsupported Content-Encoding 'br'/);
    const corrupt = await app.inject({
      method: 'POST',
      url: URL,
      payload: json,
      headers: { 'content-encoding': 'gzip' },
    });
    assert.equal(corrupt.statusCode, 400);
    assert.match(corrupt.json().error, /failed to read the decompressed request body/);
  });

  test('binary request sent gzip-compressed: header length refers to the uncompressed body', async () => {
    const { app } = await setup(undefined, ECHOES);
    const t = sampleTensor('FP64');
    const { body: raw, headerLength } = binaryBody(
      { inputs: [{ name: 'INPUT0', datatype: 'FP64', shape: [2, 3], parameters: { binary_data_size: 48 } }] },
      [new Uint8Array((t.data as Float64Array).buffer)],
    );
    const res = await app.inject({
      method: 'POST',
      url: '/v2/models/echo_fp64/infer',
      payload: zlib.gzipSync(raw),
      headers: { 'content-encoding': 'gzip', 'inference-header-content-length': String(headerLength) },
    });
    assert.equal(res.statusCode, 200, res.body);
    const out = JSON.parse(res.body);
    assert.deepEqual(out.outputs[0].data, [...(t.data as Float64Array)], 'the decompressed bytes reached the model');
  });

  test('response compression from Accept-Encoding (q-weights); header length stays uncompressed', async () => {
    const { app } = await setup(undefined, ECHOES);
    const cases: Array<[string, string | undefined]> = [
      ['gzip', 'gzip'],
      ['deflate', 'deflate'],
      ['gzip;q=0.5, deflate;q=0.9', 'deflate'],
      ['gzip;q=0, identity', undefined],
      ['br', undefined],
    ];
    for (const [accept, expected] of cases) {
      const res = await app.inject(postJson(URL, body, { 'accept-encoding': accept }));
      assert.equal(res.statusCode, 200);
      assert.equal(res.headers['content-encoding'], expected, accept);
      const plain =
        expected === 'gzip'
          ? zlib.gunzipSync(res.rawPayload)
          : expected === 'deflate'
            ? zlib.inflateSync(res.rawPayload)
            : res.rawPayload;
      assert.deepEqual(JSON.parse(plain.toString()).outputs[0].data, [1, 2, 3, 4]);
    }
    const t = sampleTensor('INT16');
    const { body: raw, headerLength } = binaryBody(
      {
        inputs: [{ name: 'INPUT0', datatype: 'INT16', shape: [2, 3], parameters: { binary_data_size: 12 } }],
        parameters: { binary_data_output: true },
      },
      [new Uint8Array((t.data as Int16Array).buffer)],
    );
    const res = await app.inject({
      method: 'POST',
      url: '/v2/models/echo_int16/infer',
      payload: raw,
      headers: { 'inference-header-content-length': String(headerLength), 'accept-encoding': 'gzip' },
    });
    const plain = zlib.gunzipSync(res.rawPayload);
    const n = Number(res.headers['inference-header-content-length']);
    const { json, tail } = splitResponse(plain, n);
    assert.equal(json.outputs[0].parameters.binary_data_size, 12);
    assert.equal(tail.byteLength, 12);
    assert.equal(plain.byteLength, n + 12);
  });

  test('admin bodies get the same depth guard and JSON errors', async () => {
    const { app } = await setup(undefined, ECHOES);
    const deep = await app.inject(postJson('/v2/repository/index', `{"ready":${'['.repeat(1000)}${']'.repeat(1000)}}`));
    assert.equal(deep.statusCode, 400);
    assert.match(deep.json().error, /nesting deeper than 100 levels/);
    const bad = await app.inject(postJson('/v2/logging', '{"log_info":'));
    assert.equal(bad.statusCode, 400);
    assert.match(bad.json().error, /failed to parse the request JSON buffer/);
  });
});
