/**
 * Numbers in HTTP JSON (issue #26 item 12): non-finite outputs are written as Triton writes them
 * (rapidjson kWriteNanAndInfFlag: NaN, Infinity, -Infinity; -0 as -0.0), and a JSON input number
 * out of range for its datatype is a 400 naming the input, the element and the datatype.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { bytesOf, type DataType } from '../../../../src/core/index.js';
import { closeAll, echoName, postBinary, postJson, setup } from './helpers.js';

after(closeAll);

let shared: ReturnType<typeof setup> | undefined;
function ctx(): ReturnType<typeof setup> {
  shared ??= setup();
  return shared;
}

/** Sends `data` as JSON to the echo model of `datatype`; `body` may be raw JSON text. */
async function sendJson(datatype: DataType, data: unknown[] | string) {
  const c = await ctx();
  const before = c.real.calls.length;
  const payload =
    typeof data === 'string'
      ? `{"inputs":[{"name":"INPUT0","datatype":"${datatype}","shape":[1,${data.split(',').length}],"data":[${data}]}]}`
      : { inputs: [{ name: 'INPUT0', datatype, shape: [1, data.length], data }] };
  const res = await c.app.inject(postJson(`/v2/models/${echoName(datatype)}/infer`, payload));
  return { res, reached: c.real.calls.length - before };
}

async function refused(datatype: DataType, data: unknown[] | string, pattern: RegExp) {
  const { res, reached } = await sendJson(datatype, data);
  assert.equal(res.statusCode, 400, `${datatype} ${JSON.stringify(data)}: ${res.body}`);
  assert.match(res.json().error, pattern);
  assert.equal(reached, 0, 'refused while decoding, before the router');
}

/** Echoes `values` as binary input and returns the JSON output's raw `data` text. */
async function jsonOutputText(datatype: 'FP32' | 'FP64', values: number[]): Promise<string> {
  const data = datatype === 'FP32' ? new Float32Array(values) : new Float64Array(values);
  const c = await ctx();
  const res = await c.app.inject(
    postBinary(
      `/v2/models/${echoName(datatype)}/infer`,
      {
        inputs: [
          { name: 'INPUT0', datatype, shape: [1, values.length], parameters: { binary_data_size: data.byteLength } },
        ],
      },
      [bytesOf(data)],
    ),
  );
  assert.equal(res.statusCode, 200, res.body);
  const m = /"data":(\[[^\]]*\])/.exec(res.body);
  assert.ok(m, res.body);
  return m[1] as string;
}

describe('HTTP JSON numbers', () => {
  test('NaN, Infinity, -Infinity come back as those literals, not null (FP32 and FP64)', async () => {
    for (const dt of ['FP32', 'FP64'] as const) {
      const text = await jsonOutputText(dt, [Number.NaN, Infinity, -Infinity, 1]);
      assert.equal(text, '[NaN,Infinity,-Infinity,1]', dt);
    }
  });

  test('-0 keeps its sign as -0.0; finite values print as before', async () => {
    assert.equal(await jsonOutputText('FP32', [-0, 0, 0.5, -2]), '[-0.0,0,0.5,-2]');
    assert.equal(await jsonOutputText('FP64', [0.1, -0, 1e300]), '[0.1,-0.0,1e+300]');
    // The widened double, exactly as before for ordinary data.
    assert.equal(await jsonOutputText('FP32', [0.1, Number.NaN]), '[0.10000000149011612,NaN]');
  });

  test('a JSON number that overflows a double (1e400 → Infinity) is refused for FP32 and FP64', async () => {
    for (const dt of ['FP32', 'FP64'] as const) {
      await refused(
        dt,
        '1,1e400',
        new RegExp(`input 'INPUT0': element 1 is out of range for ${dt}: the JSON number overflows to Infinity`),
      );
      await refused(
        dt,
        '-1e999',
        new RegExp(`element 0 is out of range for ${dt}: the JSON number overflows to -Infinity`),
      );
    }
  });

  test('FP32 refuses values beyond float32 max; values that merely round stay accepted', async () => {
    await refused('FP32', [1, 2, 1e39], /input 'INPUT0': element 2 is out of range for FP32: 1e\+39 is outside/);
    await refused('FP32', [-3.5e38], /element 0 is out of range for FP32: -3\.5e\+38/);
    // FP64 holds them.
    const wide = await sendJson('FP64', [1e39, -3.5e38]);
    assert.equal(wide.res.statusCode, 200, wide.res.body);
    // float32 max itself, and a value within half an ulp of it, round to max: accepted.
    const { res } = await sendJson('FP32', [3.4028234663852886e38, 3.4028235e38, 1e-50]);
    assert.equal(res.statusCode, 200, res.body);
    assert.deepEqual(res.json().outputs[0].data, [3.4028234663852886e38, 3.4028234663852886e38, 0]);
  });

  test('integers: out of range or fractional values are refused naming the element and the datatype', async () => {
    await refused('INT8', [1, 300], /input 'INPUT0': element 1 must be an integer in \[-128, 127\] for INT8/);
    await refused('UINT8', [-1], /element 0 must be an integer in \[0, 255\] for UINT8/);
    await refused('INT32', [0, 0, 1.5], /element 2 must be an integer in \[-2147483648, 2147483647\] for INT32/);
    await refused('UINT32', [4294967296], /element 0 must be an integer in \[0, 4294967295\] for UINT32/);
    await refused('INT16', '1e400', /element 0 must be an integer .* for INT16/);
  });

  test("Triton's NaN / Inf / Infinity literals are read for FP32 and FP64 inputs, and only there", async () => {
    for (const dt of ['FP32', 'FP64'] as const) {
      const { res } = await sendJson(dt, '1,NaN,Infinity,-Infinity,Inf,-Inf');
      assert.equal(res.statusCode, 200, res.body);
      assert.equal(/"data":(\[[^\]]*\])/.exec(res.body)?.[1], '[1,NaN,Infinity,-Infinity,Infinity,-Infinity]', dt);
    }
    // Not a number for an integer type, and no help for malformed JSON.
    await refused('INT32', '1,NaN', /element 1 must be a number|element 1 must be an integer/);
    await refused('FP32', '1,NaNx', /failed to parse/);
    // A string that spells a literal stays a string (refused for FP32 like any string).
    await refused('FP32', '"NaN"', /element 0 must be a number for FP32/);
  });
});
