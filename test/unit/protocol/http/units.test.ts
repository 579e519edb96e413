import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { InferError } from '../../../../src/core/index.js';
import { splitReservedParameters } from '../../../../src/protocol/common/reserved-params.js';
import { chooseEncoding } from '../../../../src/protocol/http/compression.js';
import { jsonDepthExceeds, stringifyJson } from '../../../../src/protocol/http/json.js';
import { matchRoute } from '../../../../src/protocol/http/routes.js';

describe('HTTP protocol pure helpers', () => {
  test('stringifyJson writes bigint as plain integers, typed arrays as arrays, skips undefined', () => {
    assert.equal(
      stringifyJson({
        a: 2n ** 64n - 1n,
        b: [1, undefined, 'x'],
        c: undefined,
        d: new BigInt64Array([-1n]),
        e: Number.NaN,
      }),
      '{"a":18446744073709551615,"b":[1,null,"x"],"d":[-1],"e":null}',
    );
    assert.equal(stringifyJson({ s: 'q"\n' }), '{"s":"q\\"\\n"}');
  });

  test('jsonDepthExceeds ignores brackets inside strings and escaped quotes', () => {
    const text = Buffer.from('{"a":"[[[[\\"[[[[","b":[[1]]}');
    assert.equal(jsonDepthExceeds(text, 0, text.length, 3), false);
    assert.equal(jsonDepthExceeds(text, 0, text.length, 2), true);
  });

  test('matchRoute: versions are digits, stats-all wins, 404 vs 405, query ignored', () => {
    assert.deepEqual(matchRoute('GET', '/v2/models/stats?x=1'), { name: 'stats', params: {} });
    assert.deepEqual(matchRoute('POST', '/v2/models/m/versions/12/infer'), {
      name: 'infer',
      params: { model: 'm', version: '12' },
    });
    assert.deepEqual(matchRoute('GET', '/v2/models/a%2Fb'), { name: 'modelMetadata', params: { model: 'a/b' } });
    const code = (m: string, u: string) => {
      try {
        matchRoute(m, u);
        return 'matched';
      } catch (e) {
        return (e as InferError).httpStatus;
      }
    };
    assert.equal(code('GET', '/v2/models/m/versions/v1'), 404);
    assert.equal(code('GET', '/v2/models//ready'), 404);
    assert.equal(code('GET', '/v2/'), 404);
    assert.equal(code('POST', '/v2/models/m'), 405);
    assert.equal(code('GET', '/v2/models/%E0%A4%A'), 400);
  });

  test('chooseEncoding honours q-weights', () => {
    assert.equal(chooseEncoding(undefined), undefined);
    assert.equal(chooseEncoding('deflate, gzip'), 'deflate');
    assert.equal(chooseEncoding('gzip;q=0.1, deflate;q=0.2'), 'deflate');
    assert.equal(chooseEncoding('GZIP'), 'gzip');
    assert.equal(chooseEncoding('*'), undefined);
  });

  test('splitReservedParameters: gRPC may allow specific triton_ keys; bigint priority accepted', () => {
    const s = splitReservedParameters(
      { triton_enable_empty_final_response: true, priority: 3n, sequence_id: 'abc', x: 1 },
      { allowedTritonKeys: ['triton_enable_empty_final_response'] },
    );
    assert.equal(s.priority, 3);
    assert.deepEqual(s.parameters, { triton_enable_empty_final_response: true, sequence_id: 'abc', x: 1 });
    assert.throws(
      () => splitReservedParameters({ triton_x: 1 }),
      (e: InferError) => e.httpStatus === 400,
    );
    assert.throws(() => splitReservedParameters({ sequence_start: 1 }), /'sequence_start' must be a boolean/);
  });
});
