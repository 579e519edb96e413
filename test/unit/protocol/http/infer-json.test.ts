import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { bytesOf, type DataType } from '../../../../src/core/index.js';
import { encodeInferResponse } from '../../../../src/protocol/http/index.js';
import { closeAll, echoName, postBinary, postJson, ROW, setup } from './helpers.js';

after(closeAll);

const URL = '/v2/models/simple/infer';
const input = (extra: Record<string, unknown>) => ({
  name: 'INPUT0',
  datatype: 'INT32',
  shape: [2],
  data: [1, 2],
  ...extra,
});
/** One valid row for 'simple'. */
const row = (extra: Record<string, unknown> = {}) => input({ shape: [1, 16], data: ROW, ...extra });

// Decode-error cases share one instance; none of them may reach the router.
let shared: ReturnType<typeof setup> | undefined;
function sharedSetup(): ReturnType<typeof setup> {
  if (shared === undefined) shared = setup();
  return shared;
}

async function infer(body: unknown, options?: Parameters<typeof setup>[0], url = URL) {
  const ctx = options === undefined ? await sharedSetup() : await setup(options);
  const before = ctx.real.calls.length;
  const res = await ctx.app.inject(postJson(url, body));
  return { ...ctx, res, reached: ctx.real.calls.length - before };
}

async function expectError(body: unknown, status: number, pattern: RegExp) {
  const { res, reached } = await infer(body);
  assert.equal(res.statusCode, status, res.body);
  assert.equal(Object.keys(res.json()).join(), 'error');
  assert.match(res.json().error, pattern);
  assert.equal(reached, 0, 'a request the decoder refuses never reaches the router');
}

describe('infer, JSON form', () => {
  test('response key order: id, model_name, model_version, parameters, outputs', async () => {
    const { app } = await setup();
    const res = await app.inject(postJson(URL, { id: '42', inputs: [row()] }));
    assert.equal(
      res.body,
      '{"id":"42","model_name":"simple","model_version":"1",' +
        `"outputs":[{"name":"OUTPUT0","datatype":"INT32","shape":[1,16],"data":[${ROW.join(',')}]}]}`,
    );
    const noId = await app.inject(postJson(URL, { id: '', inputs: [row()] }));
    assert.ok(noId.body.startsWith('{"model_name":"simple","model_version":"1","outputs"'), noId.body);
    // Response parameters come only from models that set them: the encoder's place for them.
    const enc = encodeInferResponse(
      {
        id: '42',
        model: 'simple',
        version: '3',
        parameters: { sequence_id: 5, big: 2n ** 60n },
        outputs: [{ name: 'OUT', datatype: 'INT32', shape: [1], data: new Int32Array([7]) }],
      },
      { binaryDefault: false },
    );
    assert.equal(
      enc.body.toString(),
      '{"id":"42","model_name":"simple","model_version":"3","parameters":{"sequence_id":5,"big":1152921504606846976},' +
        '"outputs":[{"name":"OUT","datatype":"INT32","shape":[1],"data":[7]}]}',
    );
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
    const { app, real } = await setup();
    for (const [datatype, data, flat] of cases) {
      const url = `/v2/models/${echoName(datatype)}/infer`;
      const res = await app.inject(postJson(url, { inputs: [{ name: 'INPUT0', datatype, shape: [2, 2], data }] }));
      assert.equal(res.statusCode, 200, `${datatype}: ${res.body}`);
      assert.deepEqual(res.json().outputs[0], { name: 'OUTPUT0', datatype, shape: [2, 2], data: flat }, datatype);
      const t = real.calls.at(-1)?.request.inputs[0];
      assert.equal(t?.datatype, datatype);
      if (datatype === 'INT64' || datatype === 'UINT64')
        assert.equal(typeof (t?.data as BigInt64Array | undefined)?.[0], 'bigint');
    }
    assert.equal(real.backend.executions.length, cases.length, 'each ran once on its model');
  });

  test('FP32 is written as the widened double; INT64 bigint outputs are exact', async () => {
    const { app } = await setup();
    const fp = await app.inject(
      postJson('/v2/models/echo_fp32/infer', {
        inputs: [{ name: 'INPUT0', datatype: 'FP32', shape: [1, 1], data: [0.1] }],
      }),
    );
    assert.match(fp.body, /"data":\[0\.10000000149011612\]/);
    // Values past 2^53 go in as binary; asked for as JSON they come back exact.
    const big = new BigInt64Array([9007199254740993n, -(2n ** 63n)]);
    const res = await app.inject(
      postBinary(
        '/v2/models/echo_int64/infer',
        { inputs: [{ name: 'INPUT0', datatype: 'INT64', shape: [1, 2], parameters: { binary_data_size: 16 } }] },
        [bytesOf(big)],
      ),
    );
    assert.equal(res.statusCode, 200, res.body);
    assert.match(res.body, /"data":\[9007199254740993,-9223372036854775808\]/);
  });

  test('INT64 past 2^53 in JSON is read and written exactly, as Triton does (issue #21 item 5)', async () => {
    const { app } = await setup();
    // Written as text: these literals are what JSON.parse alone would round.
    const body = (v: string) =>
      `{"inputs":[{"name":"INPUT0","datatype":"INT64","shape":[1,3],"data":[[1,${v},-9223372036854775808]]}]}`;
    const res = await app.inject({
      method: 'POST',
      url: '/v2/models/echo_int64/infer',
      headers: { 'content-type': 'application/json' },
      payload: body('9223372036854775807'),
    });
    assert.equal(res.statusCode, 200, res.body);
    assert.match(res.body, /"data":\[1,9223372036854775807,-9223372036854775808\]/);
    const odd = await app.inject({
      method: 'POST',
      url: '/v2/models/echo_int64/infer',
      headers: { 'content-type': 'application/json' },
      payload: body('9007199254740993'),
    });
    assert.match(odd.body, /"data":\[1,9007199254740993,-9223372036854775808\]/);
    const huge = await app.inject({
      method: 'POST',
      url: '/v2/models/echo_int64/infer',
      headers: { 'content-type': 'application/json' },
      payload: body('1e300'),
    });
    assert.equal(huge.statusCode, 400, 'a float literal past the range stays refused after the exact re-read');
    assert.match(huge.body, /element 1 must be an integer in \[-9223372036854775808, 9223372036854775807\] for INT64/);
  });

  test('non-finite floats are written as Triton writes them, not null (json-numbers.test.ts has the rest)', async () => {
    const { app } = await setup();
    const res = await app.inject(
      postBinary(
        '/v2/models/echo_fp32/infer',
        { inputs: [{ name: 'INPUT0', datatype: 'FP32', shape: [1, 3], parameters: { binary_data_size: 12 } }] },
        [bytesOf(new Float32Array([1, Number.NaN, -Infinity]))],
      ),
    );
    assert.equal(res.statusCode, 200, res.body);
    assert.match(res.body, /"data":\[1,NaN,-Infinity\]/);
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
      // Written as text: one past INT64's range, which only its digits show.
      '{"inputs":[{"name":"INPUT0","datatype":"INT64","shape":[2],"data":[1,9223372036854775808]}]}',
      400,
      /element 1 must be an integer in \[-9223372036854775808, 9223372036854775807\] for INT64/,
    );
    await expectError({ inputs: [input({ data: 5 })] }, 400, /'data' must be an array/);
  });

  test('FP16/BF16 are refused in JSON both ways', async () => {
    await expectError(
      { inputs: [input({ datatype: 'FP16', data: [1, 2] })] },
      400,
      /receiving FP16 data via JSON is not supported.*input 'INPUT0'/,
    );
    // A BF16 model output asked for as JSON: the model ran, the answer cannot be written.
    const { app } = await setup();
    const res = await app.inject(
      postBinary(
        '/v2/models/echo_bf16/infer',
        { inputs: [{ name: 'INPUT0', datatype: 'BF16', shape: [1, 1], parameters: { binary_data_size: 2 } }] },
        [bytesOf(new Uint16Array([0x3f80]))],
      ),
    );
    assert.equal(res.statusCode, 400);
    assert.match(res.json().error, /sending BF16 data via JSON is not supported.*output 'OUTPUT0'/);
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
    const { res, real } = await infer({
      inputs: [row()],
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
    const call = real.calls.at(-1);
    assert.equal(call?.request.priority, 2);
    assert.equal(call?.request.timeoutUs, 1500);
    assert.deepEqual(call?.request.parameters, {
      sequence_id: 9,
      sequence_start: true,
      sequence_end: false,
      custom: 'c',
    });
    assert.equal(call?.ctx.protocol, 'http');
    assert.ok(call?.ctx.signal instanceof AbortSignal);
    assert.equal(call?.ctx.deadline, Number.POSITIVE_INFINITY, 'no infergate-timeout-ms: no deadline');
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

  test('outputs: subset, binary_data and classification reach the router; version from path', async () => {
    const { app, real } = await setup();
    const res = await app.inject(
      postJson('/v2/models/simple/versions/1/infer', {
        inputs: [row()],
        outputs: [{ name: 'OUTPUT0', parameters: { binary_data: false, classification: 3, extra: 'e' } }],
      }),
    );
    assert.equal(res.statusCode, 200, res.body);
    const r = real.calls.at(-1)?.request;
    assert.equal(r?.version, '1');
    assert.deepEqual(r?.outputs, [{ name: 'OUTPUT0', binary: false, classification: 3, parameters: { extra: 'e' } }]);
    // The router classified the output: the top 3 of ROW (value:index).
    const top = [...ROW.keys()].sort((a, b) => ROW[b]! - ROW[a]!).slice(0, 3);
    assert.deepEqual(res.json().outputs, [
      { name: 'OUTPUT0', datatype: 'BYTES', shape: [1, 3], data: top.map((i) => `${ROW[i]}:${i}`) },
    ]);
    const bad = await app.inject(
      postJson(URL, { inputs: [row()], outputs: [{ name: 'O', parameters: { classification: 'x' } }] }),
    );
    assert.equal(bad.statusCode, 400);
  });

  test('the router checks the request against the model: Triton texts, nothing executed', async () => {
    const { app, real } = await setup();
    const cases: Array<[unknown, string]> = [
      [
        { inputs: [input({ shape: [1, 2] })] },
        "unexpected shape for input 'INPUT0' for model 'simple'. Expected [-1,16], got [?,2]",
      ],
      [{ inputs: [row({ name: 'X' })] }, "unexpected inference input 'X' for model 'simple'"],
      [
        { inputs: [row({ datatype: 'FP32' })] },
        "inference input 'INPUT0' data-type is 'FP32', but model 'simple' expects 'INT32'",
      ],
      [{ inputs: [row()], outputs: [{ name: 'NOPE' }] }, "unexpected inference output 'NOPE' for model 'simple'"],
      [
        { inputs: [input({ shape: [9, 16], data: Array(9 * 16).fill(0) })] },
        "inference request batch-size must be <= 8 for 'simple'",
      ],
    ];
    for (const [body, error] of cases) {
      const res = await app.inject(postJson(URL, body));
      assert.equal(res.statusCode, 400, res.body);
      assert.deepEqual(res.json(), { error });
    }
    assert.equal(real.calls.length, cases.length, 'each reached the router');
    assert.equal(real.backend.executions.length, 0, 'none executed');
  });

  test('unknown model and not-ready version → Triton texts', async () => {
    const { app } = await setup();
    const res = await app.inject(postJson('/v2/models/nope/infer', { inputs: [input({})] }));
    assert.equal(res.statusCode, 404);
    assert.deepEqual(res.json(), { error: "Request for unknown model: 'nope' is not found" });
    const v2 = await app.inject(postJson('/v2/models/simple/versions/2/infer', { inputs: [row()] }));
    assert.equal(v2.statusCode, 503);
    assert.deepEqual(v2.json(), { error: "'simple' version 2 is not at ready state" });
    const v9 = await app.inject(postJson('/v2/models/simple/versions/9/infer', { inputs: [row()] }));
    assert.equal(v9.statusCode, 404);
    assert.deepEqual(v9.json(), { error: "Request for unknown model: 'simple' version 9 is not found" });
  });

  test('zero-element tensors are legal', async () => {
    const { res } = await infer({ inputs: [input({ shape: [0, 3], data: [] })] }, {}, '/v2/models/echo_int32/infer');
    assert.equal(res.statusCode, 200, res.body);
    assert.deepEqual(res.json().outputs[0], { name: 'OUTPUT0', datatype: 'INT32', shape: [0, 3], data: [] });
  });
});
