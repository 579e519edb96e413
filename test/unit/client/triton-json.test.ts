import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseTritonJson } from '../../../src/client/triton-json.js';

test('Triton JSON: NaN / Infinity / -Infinity literals parse; strings that look like them are kept', () => {
  const v = parseTritonJson('{"data":[NaN,Infinity,-Infinity,1,-2.5],"s":"NaN -Infinity \\"Infinity\\""}') as {
    data: unknown[];
    s: string;
  };
  assert.deepEqual(v.data.map(Number), [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 1, -2.5]);
  assert.equal(v.s, 'NaN -Infinity "Infinity"');
  assert.deepEqual(parseTritonJson('[1,2]'), [1, 2]);
  assert.throws(() => parseTritonJson('{bad'));
});
