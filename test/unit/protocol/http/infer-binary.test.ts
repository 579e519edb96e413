import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import fc from 'fast-check';
import { DATATYPES, encodeBytesElements, type Tensor, wireByteSize } from '../../../../src/core/index.js';
import { decodeInferRequest, encodeInferResponse } from '../../../../src/protocol/http/index.js';
import { bytesOf, isBytesData } from '../../../../src/core/index.js';
import { echoModel } from '../real-services.js';
import { binaryBody, closeAll, ECHOES, echoName, postJson, SIMPLE, setup, splitResponse } from './helpers.js';
import { arbTensor, dataBytes, sampleTensor } from './tensors.js';

after(closeAll);

const URL = '/v2/models/simple/infer';
const LIMITS = {
  maxJsonDepth: 100,
  maxJsonElements: 1 << 24,
  maxBytesElements: 1 << 20,
  maxJsonBytes: 1 << 26,
  maxJsonResponseElements: 1 << 20,
};
/** Three inputs of three kinds, each echoed to its own output. */
const MIXED = {
  name: 'mixed',
  inputs: [
    { name: 'A', datatype: 'FP32' as const, dims: [-1, -1] },
    { name: 'J', datatype: 'INT32' as const, dims: [-1] },
    { name: 'B', datatype: 'BYTES' as const, dims: [-1, -1] },
  ],
  outputs: [
    { name: 'OA', datatype: 'FP32' as const, dims: [-1, -1] },
    { name: 'OJ', datatype: 'INT32' as const, dims: [-1] },
    { name: 'OB', datatype: 'BYTES' as const, dims: [-1, -1] },
  ],
};
const MODELS = [SIMPLE, MIXED, ...ECHOES, echoModel('empty', 'FP32', [-1])];

function wire(t: Tensor): Uint8Array {
  return isBytesData(t.data) ? encodeBytesElements(t.data) : bytesOf(t.data);
}

function binaryInput(t: Tensor, size = wireByteSize(t)) {
  return { name: t.name, datatype: t.datatype, shape: t.shape, parameters: { binary_data_size: size } };
}

// One instance for the whole file: every case is a separate request, none changes the server.
let shared: ReturnType<typeof setup> | undefined;
function sharedSetup(): ReturnType<typeof setup> {
  if (shared === undefined) shared = setup(undefined, MODELS);
  return shared;
}

async function post(header: unknown, chunks: Uint8Array[], extra: Record<string, string> = {}, url = URL) {
  const ctx = await sharedSetup();
  const before = ctx.real.calls.length;
  const { body, headerLength } = binaryBody(header, chunks);
  const res = await ctx.app.inject({
    method: 'POST',
    url,
    payload: body,
    headers: {
      'content-type': 'application/octet-stream',
      'inference-header-content-length': String(headerLength),
      ...extra,
    },
  });
  return { ...ctx, res, reached: ctx.real.calls.length - before };
}

describe('infer, binary tensor extension', () => {
  test('every datatype: binary in, binary out (binary_data_output, outputs omitted)', async () => {
    for (const dt of DATATYPES) {
      const t = sampleTensor(dt);
      const { res, real } = await post(
        { inputs: [binaryInput(t)], parameters: { binary_data_output: true } },
        [wire(t)],
        {},
        `/v2/models/${echoName(dt)}/infer`,
      );
      assert.equal(res.statusCode, 200, `${dt}: ${res.body}`);
      assert.equal(res.headers['content-type'], 'application/octet-stream');
      const headerLength = Number(res.headers['inference-header-content-length']);
      const { json, tail } = splitResponse(res.rawPayload, headerLength);
      assert.equal(json.model_name, echoName(dt));
      assert.deepEqual(json.outputs, [
        { name: 'OUTPUT0', datatype: dt, shape: [2, 3], parameters: { binary_data_size: wireByteSize(t) } },
      ]);
      assert.deepEqual([...tail], [...wire(t)], dt);
      const got = real.calls.at(-1)?.request.inputs[0] as Tensor;
      assert.deepEqual(dataBytes(got), dataBytes(t), dt);
      if (!isBytesData(got.data)) {
        // Owned, aligned copy: its own ArrayBuffer, starting at 0.
        assert.equal(got.data.byteOffset, 0);
        assert.equal(got.data.buffer.byteLength, got.data.byteLength);
      }
    }
  });

  test('mixed JSON and binary inputs; per-output binary_data wins over the default; byte order = outputs order', async () => {
    const a = sampleTensor('FP32', 'A');
    const b = sampleTensor('BYTES', 'B');
    const header = {
      inputs: [binaryInput(a), { name: 'J', datatype: 'INT32', shape: [2], data: [1, 2] }, binaryInput(b)],
      outputs: [
        { name: 'OB', parameters: { binary_data: true } },
        { name: 'OJ' },
        { name: 'OA', parameters: { binary_data: true } },
      ],
    };
    const { res, real } = await post(header, [wire(a), wire(b)], {}, '/v2/models/mixed/infer');
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(real.calls.at(-1)?.request.inputs.length, 3);
    const { json, tail } = splitResponse(res.rawPayload, Number(res.headers['inference-header-content-length']));
    // The router answers in the order the outputs were asked for; binary bytes follow that order.
    assert.deepEqual(
      json.outputs.map((o: { name: string }) => o.name),
      ['OB', 'OJ', 'OA'],
    );
    assert.deepEqual(json.outputs[1].data, [1, 2]);
    assert.deepEqual([...tail], [...wire(b), ...wire(a)]);
  });

  test('binary outputs with no bytes → plain JSON without Inference-Header-Content-Length', async () => {
    const t = { name: 'INPUT0', datatype: 'FP32' as const, shape: [0], data: new Float32Array(0) };
    const { res } = await post(
      { inputs: [binaryInput(t)], parameters: { binary_data_output: true } },
      [],
      {},
      '/v2/models/empty/infer',
    );
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['inference-header-content-length'], undefined);
    assert.match(String(res.headers['content-type']), /application\/json/);
    assert.deepEqual(res.json().outputs[0].parameters, { binary_data_size: 0 });
  });

  test('missing bytes, extra bytes, size vs shape, BYTES prefix past end, BYTES count', async () => {
    const t = sampleTensor('INT32');
    const cases: Array<[unknown, Uint8Array[], RegExp]> = [
      [
        { inputs: [binaryInput(t)] },
        [wire(t).subarray(4)],
        /unexpected size for input 'INPUT0', expecting 24 additional bytes/,
      ],
      [
        { inputs: [binaryInput(t)] },
        [wire(t), new Uint8Array(3)],
        /unexpected additional input data for model 'simple'/,
      ],
      [
        { inputs: [binaryInput(t, 20)] },
        [wire(t).subarray(0, 20)],
        /unexpected total byte size 20 for input 'INPUT0', expecting 24/,
      ],
      [
        { inputs: [{ name: 'S', datatype: 'BYTES', shape: [1], parameters: { binary_data_size: 6 } }] },
        [Uint8Array.from([9, 0, 0, 0, 65, 66])],
        /input 'S' BYTES data is malformed: element 0 declares 9 bytes but only 2 remain/,
      ],
      [
        { inputs: [{ name: 'S', datatype: 'BYTES', shape: [2], parameters: { binary_data_size: 5 } }] },
        [Uint8Array.from([1, 0, 0, 0, 65])],
        /input 'S' BYTES data is malformed: holds 1 elements but its shape declares 2/,
      ],
      [
        { inputs: [{ name: 'S', datatype: 'BYTES', shape: [1], parameters: { binary_data_size: 2 } }] },
        [Uint8Array.from([1, 0])],
        /truncated 4-byte length prefix/,
      ],
      [{ inputs: [binaryInput(t, -1)] }, [], /'binary_data_size' of input 'INPUT0' must be a non-negative integer/],
    ];
    for (const [header, chunks, pattern] of cases) {
      const { res, reached } = await post(header, chunks);
      assert.equal(res.statusCode, 400, res.body);
      assert.match(res.json().error, pattern);
      assert.equal(reached, 0, 'refused before the router');
    }
  });

  test('Inference-Header-Content-Length: not an int, past the body, absent with binary inputs', async () => {
    const t = sampleTensor('INT8');
    for (const value of ['abc', '-1', '1.5', '99999999999']) {
      const { res } = await post({ inputs: [binaryInput(t)] }, [wire(t)], { 'inference-header-content-length': value });
      assert.equal(res.statusCode, 400, value);
      assert.match(res.json().error, /Inference-Header-Content-Length/);
    }
    const past = await post({ inputs: [binaryInput(t)] }, [wire(t)], { 'inference-header-content-length': '100000' });
    assert.match(past.res.json().error, /larger than the request body/);
    const { app } = await sharedSetup();
    const noHeader = await app.inject(postJson(URL, { inputs: [binaryInput(t)] }));
    assert.equal(noHeader.statusCode, 400);
    assert.match(noHeader.json().error, /must specify valid 'Inference-Header-Content-Length'/);
    const binaryTail = await app.inject(
      postJson(URL, Buffer.concat([Buffer.from('{"inputs":[]}'), Buffer.from([0, 1])]).toString()),
    );
    assert.equal(binaryTail.statusCode, 400);
  });

  test('raw binary request (header length 0): whole body is the single input, outputs binary', async () => {
    const { app, real } = await sharedSetup();
    const data = new Int32Array(16).map((_, i) => i * 3);
    const res = await app.inject({
      method: 'POST',
      url: URL,
      payload: Buffer.from(data.buffer),
      headers: { 'content-type': 'application/octet-stream', 'inference-header-content-length': '0' },
    });
    assert.equal(res.statusCode, 200, res.body);
    const input = real.calls.at(-1)?.request.inputs[0];
    assert.equal(input?.name, 'INPUT0');
    assert.deepEqual(input?.shape, [1, 16]);
    const { json, tail } = splitResponse(res.rawPayload, Number(res.headers['inference-header-content-length']));
    assert.equal(json.outputs[0].name, 'OUTPUT0');
    assert.equal(json.outputs[0].parameters.binary_data_size, 64);
    assert.deepEqual([...new Int32Array(tail.buffer.slice(tail.byteOffset, tail.byteOffset + 64))], [...data]);
    const odd = await app.inject({
      method: 'POST',
      url: URL,
      payload: Buffer.alloc(10),
      headers: { 'inference-header-content-length': '0' },
    });
    assert.equal(odd.statusCode, 400);
  });

  test('property: response encode → request decode round-trips random tensors of every datatype', () => {
    fc.assert(
      fc.property(fc.array(arbTensor, { minLength: 1, maxLength: 4 }), (tensors) => {
        const named = tensors.map((t, i) => ({ ...t, name: `${t.name}_${i}` }));
        const enc = encodeInferResponse({ model: 'm', version: '1', outputs: named }, { binaryDefault: true });
        const total = named.reduce((n, t) => n + wireByteSize(t), 0);
        const headerLength = enc.headerLength ?? enc.body.byteLength;
        assert.equal(enc.body.byteLength, headerLength + total);
        const json = JSON.parse(enc.body.subarray(0, headerLength).toString());
        const request = Buffer.from(JSON.stringify({ inputs: json.outputs }));
        const body = Buffer.concat([request, enc.body.subarray(headerLength)]);
        const decoded = decodeInferRequest(body, request.byteLength, 'm', undefined, LIMITS);
        assert.equal(decoded.request.inputs.length, named.length);
        decoded.request.inputs.forEach((got, i) => {
          const want = named[i] as Tensor;
          assert.equal(got.name, want.name);
          assert.equal(got.datatype, want.datatype);
          assert.deepEqual(got.shape, want.shape);
          assert.deepEqual(dataBytes(got), dataBytes(want));
        });
      }),
      { numRuns: 300 },
    );
  });
});
