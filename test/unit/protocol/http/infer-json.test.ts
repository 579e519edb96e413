import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { DataType } from '../../../../src/core/index.js';
import { postJson, setup } from './helpers.js';

const URL = '/v2/models/simple/infer';
const input = (extra: Record<string, unknown>) => ({
  name: 'INPUT0',
  datatype: 'INT32',
  shape: [2],
  data: [1, 2],
  ...extra,
});

async function infer(body: unknown, options?: Parameters<typeof setup>[0]) {
  const ctx = setup(options);
  const res = await ctx.app.inject(postJson(URL, body));
  return { ...ctx, res };
}

async function expectError(body: unknown, status: number, pattern: RegExp) {
  const { res } = await infer(body);
  assert.equal(res.statusCode, status, res.body);
  assert.equal(Object.keys(res.json()).join(), 'error');
  assert.match(res.json().error, pattern);
}

describe('infer, JSON form', () => {
  test('response key order: id, model_name, model_version, parameters, outputs', async () => {
    const { app, service } = setup();
    service.inferImpl = async (r) => ({
      id: r.id,
      model: r.model,
      version: '3',
      parameters: { sequence_id: 5, big: 2n ** 60n },
      outputs: [{ name: 'OUT', datatype: 'INT32', shape: [1], data: new Int32Array([7]) }],
    });
    const res = await app.inject(postJson(URL, { id: '42', inputs: [input({})] }));
    assert.equal(
      res.body,
      '{"id":"42","model_name":"simple","model_version":"3","parameters":{"sequence_id":5,"big":1152921504606846976},' +
        '"outputs":[{"name":"OUT","datatype":"INT32","shape":[1],"data":[7]}]}',
    );
    const noId = await app.inject(postJson(URL, { id: '', inputs: [input({})] }));
    assert.ok(noId.body.startsWith('{"model_name":"simple","model_version":"3"'));
  });

  test('every JSON-capable datatype round-trips; nested data is flattened row-major', async () => {
    const cases: Array<[DataType, unknown[], unknown[]]> = [
      [
        'BOOL',
        [
          [true, false],
          [false, true],
        ],
        [true, false, false, true],
      ],
      [
        'UINT8',
        [
          [0, 255],
          [1, 2],
        ],
        [0, 255, 1, 2],
      ],
      ['UINT16', [0, 65535, 3, 4], [0, 65535, 3, 4]],
      ['UINT32', [0, 4294967295, 5, 6], [0, 4294967295, 5, 6]],
      ['UINT64', [0, 9007199254740991, 7, 8], [0, 9007199254740991, 7, 8]],
      ['INT8', [-128, 127, 0, 1], [-128, 127, 0, 1]],
      ['INT16', [-32768, 32767, 0, 1], [-32768, 32767, 0, 1]],
      ['INT32', [[-2147483648], [2147483647], [0], [1]], [-2147483648, 2147483647, 0, 1]],
      ['INT64', [-9007199254740991, 9007199254740991, 0, 1], [-9007199254740991, 9007199254740991, 0, 1]],
      ['FP32', [0.5, -2, 1e10, 0], [0.5, -2, 1e10, 0]],
      ['FP64', [0.1, -2.5, 1e300, 0], [0.1, -2.5, 1e300, 0]],
      [
        'BYTES',
        [
          ['a', ''],
          ['héllo', '\u0000x'],
        ],
        ['a', '', 'héllo', '\u0000x'],
      ],
    ];
    for (const [datatype, data, flat] of cases) {
      const { res, service } = await infer({ inputs: [{ name: 'INPUT0', datatype, shape: [2, 2], data }] });
      assert.equal(res.statusCode, 200, `${datatype}: ${res.body}`);
      assert.deepEqual(res.json().outputs[0], { name: 'INPUT0', datatype, shape: [2, 2], data: flat }, datatype);
      const t = service.requests[0]?.inputs[0];
      if (datatype === 'INT64' || datatype === 'UINT64')
        assert.equal(typeof (t?.data as BigInt64Array | undefined)?.[0], 'bigint');
    }
  });

  test('FP32 is written as the widened double; INT64 bigint outputs are exact', async () => {
    const { app, service } = setup();
    const fp = await app.inject(postJson(URL, { inputs: [{ name: 'X', datatype: 'FP32', shape: [1], data: [0.1] }] }));
    assert.match(fp.body, /"data":\[0\.10000000149011612\]/);
    service.inferImpl = async (r) => ({
      model: r.model,
      version: '1',
      outputs: [
        { name: 'Y', datatype: 'INT64', shape: [2], data: new BigInt64Array([9007199254740993n, -(2n ** 63n)]) },
      ],
    });
    const big = await app.inject(postJson(URL, { inputs: [input({})] }));
    assert.match(big.body, /"data":\[9007199254740993,-9223372036854775808\]/);
  });

  test('non-finite floats are written as null (JSON has no NaN)', async () => {
    const { app, service } = setup();
    service.inferImpl = async (r) => ({
      model: r.model,
      version: '1',
      outputs: [{ name: 'Y', datatype: 'FP32', shape: [3], data: new Float32Array([1, Number.NaN, -Infinity]) }],
    });
    const res = await app.inject(postJson(URL, { inputs: [input({})] }));
    assert.deepEqual(res.json().outputs[0].data, [1, null, null]);
  });

  test('wrong datatype string names the tensor', async () => {
    await expectError(
      { inputs: [input({ datatype: 'FLOAT32' })] },
      400,
      /invalid datatype "FLOAT32" for tensor 'INPUT0'/,
    );
  });

  test('shape vs data count mismatch, both ways', async () => {
    await expectError(
      { inputs: [input({ shape: [3] })] },
      400,
      /input 'INPUT0'.*shape holds 3 elements, 'data' holds 2/,
    );
    await expectError(
      { inputs: [input({ shape: [1] })] },
      400,
      /input 'INPUT0'.*shape holds 1 elements, 'data' holds more/,
    );
    await expectError({ inputs: [input({ shape: [-1] })] }, 400, /shape of tensor 'INPUT0'/);
    await expectError({ inputs: [input({ shape: [1e12] })] }, 400, /over the limit/);
  });

  test('element coercion errors name the tensor and element', async () => {
    await expectError({ inputs: [input({ data: [1, 'x'] })] }, 400, /input 'INPUT0': element 1 must be an integer/);
    await expectError({ inputs: [input({ data: [1, 1.5] })] }, 400, /element 1 must be an integer/);
    await expectError({ inputs: [input({ datatype: 'UINT8', data: [1, 256] })] }, 400, /\[0, 255\]/);
    await expectError({ inputs: [input({ datatype: 'BOOL', data: [1, 0] })] }, 400, /must be true or false/);
    await expectError({ inputs: [input({ datatype: 'BYTES', data: ['a', 1] })] }, 400, /must be a string/);
    await expectError({ inputs: [input({ datatype: 'FP32', data: ['1', 2] })] }, 400, /must be a number/);
    await expectError(
      // Written as text: the literal itself is what JSON.parse would round.
      '{"inputs":[{"name":"INPUT0","datatype":"INT64","shape":[2],"data":[1,9007199254740993]}]}',
      400,
      /values past 2\^53 need binary data/,
    );
    await expectError({ inputs: [input({ data: 5 })] }, 400, /'data' must be an array/);
  });

  test('FP16/BF16 are refused in JSON both ways', async () => {
    await expectError(
      { inputs: [input({ datatype: 'FP16', data: [1, 2] })] },
      400,
      /receiving FP16 data via JSON is not supported.*input 'INPUT0'/,
    );
    const { app, service } = setup();
    service.inferImpl = async (r) => ({
      model: r.model,
      version: '1',
      outputs: [{ name: 'H', datatype: 'BF16', shape: [1], data: new Uint16Array([1]) }],
    });
    const res = await app.inject(postJson(URL, { inputs: [input({})] }));
    assert.equal(res.statusCode, 400);
    assert.match(res.json().error, /sending BF16 data via JSON is not supported.*output 'H'/);
  });

  test('exactly one of data / binary_data_size / shared_memory_region', async () => {
    const { data: _d, ...noData } = input({});
    await expectError({ inputs: [noData] }, 400, /Input 'INPUT0' must set only one of the following fields/);
    await expectError(
      { inputs: [input({ parameters: { binary_data_size: 8 } })] },
      400,
      /Input 'INPUT0' must set only one of the following fields/,
    );
    await expectError(
      { inputs: [{ ...noData, parameters: { shared_memory_region: 'r0', shared_memory_byte_size: 8 } }] },
      404,
      /^Unable to find shared memory region: 'r0'$/,
    );
    await expectError(
      { inputs: [input({})], outputs: [{ name: 'O', parameters: { shared_memory_region: 'out0' } }] },
      404,
      /^Unable to find shared memory region: 'out0'$/,
    );
  });

  test('malformed JSON, empty body, non-object body, missing inputs', async () => {
    await expectError('{"inputs": [', 400, /failed to parse the request JSON buffer/);
    await expectError('', 400, /the document is empty/);
    await expectError('[1]', 400, /must be a JSON object/);
    await expectError({ id: 5, inputs: [] }, 400, /'id' must be a string/);
    await expectError({ outputs: [] }, 400, /'inputs' array/);
  });

  test('nesting bomb → 400 before any recursion; data nested past the limit → 400', async () => {
    const deep = `{"inputs":[{"name":"I","datatype":"INT32","shape":[1],"data":${'['.repeat(200_000)}1${']'.repeat(200_000)}}]}`;
    const started = performance.now();
    await expectError(deep, 400, /nesting deeper than 100 levels/);
    assert.ok(performance.now() - started < 1000);
    const { res } = await infer(
      { inputs: [{ name: 'I', datatype: 'INT32', shape: [1], data: [[[[[1]]]]] }] },
      { maxJsonDepth: 4 },
    );
    assert.equal(res.statusCode, 400);
    assert.match(res.json().error, /nesting deeper than 4 levels/);
  });

  test('JSON element budget is request-wide', async () => {
    const body = { inputs: [input({ name: 'A' }), input({ name: 'B' })] };
    const { res } = await infer(body, { maxJsonElements: 3 });
    assert.equal(res.statusCode, 400);
    assert.match(res.json().error, /input 'B'.*over the limit of 1 JSON values/);
  });

  test('reserved parameters: priority, timeout, sequence_*, headers; triton_* refused', async () => {
    const { res, service } = await infer({
      inputs: [input({})],
      parameters: {
        priority: 2,
        timeout: 1500,
        sequence_id: 9,
        sequence_start: true,
        sequence_end: false,
        headers: 'x',
        custom: 'c',
      },
    });
    assert.equal(res.statusCode, 200, res.body);
    const r = service.requests[0];
    assert.equal(r?.priority, 2);
    assert.equal(r?.timeoutUs, 1500);
    assert.deepEqual(r?.parameters, { sequence_id: 9, sequence_start: true, sequence_end: false, custom: 'c' });
    assert.equal(r?.protocol, 'http');
    assert.ok(r?.signal instanceof AbortSignal);
    await expectError(
      { inputs: [input({})], parameters: { triton_secret: 1 } },
      400,
      /parameter keys starting with 'triton_' are reserved/,
    );
    await expectError(
      { inputs: [input({})], parameters: { priority: -1 } },
      400,
      /'priority' must be an unsigned integer/,
    );
    await expectError({ inputs: [input({})], parameters: { timeout: 'soon' } }, 400, /'timeout' must be/);
    await expectError({ inputs: [input({})], parameters: { nested: { a: 1 } } }, 400, /parameter 'nested'/);
  });

  test('outputs: subset, binary_data and classification are passed to the service; version from path', async () => {
    const { app, service } = setup();
    const res = await app.inject(
      postJson('/v2/models/simple/versions/1/infer', {
        inputs: [input({})],
        outputs: [{ name: 'INPUT0', parameters: { binary_data: false, classification: 3, extra: 'e' } }],
      }),
    );
    assert.equal(res.statusCode, 200);
    const r = service.requests[0];
    assert.equal(r?.version, '1');
    assert.deepEqual(r?.outputs, [{ name: 'INPUT0', binary: false, classification: 3, parameters: { extra: 'e' } }]);
    const bad = await app.inject(
      postJson(URL, { inputs: [input({})], outputs: [{ name: 'O', parameters: { classification: 'x' } }] }),
    );
    assert.equal(bad.statusCode, 400);
  });

  test('unknown model → 404 with Triton text', async () => {
    const { app } = setup();
    const res = await app.inject(postJson('/v2/models/nope/infer', { inputs: [input({})] }));
    assert.equal(res.statusCode, 404);
    assert.deepEqual(res.json(), { error: "Request for unknown model: 'nope' is not found" });
  });

  test('zero-element tensors are legal', async () => {
    const { res } = await infer({ inputs: [input({ shape: [0, 3], data: [] })] });
    assert.equal(res.statusCode, 200);
    assert.deepEqual(res.json().outputs[0].data, []);
  });
});
