// Cache entries (cache/codec.ts): every datatype and parameter type round-trips into fresh buffers;
// garbage, truncation, another key's bytes and a flipped bit are detected.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { decodeResponse, encodeResponse } from '../../../src/cache/codec.js';
import type { InferResponse } from '../../../src/core/index.js';

const KEY = 'k'.repeat(64);
const EXPIRES = 1_900_000_000_000;

function response(): InferResponse {
  return {
    id: 'not stored',
    model: 'm',
    version: '3',
    parameters: { s: 'x', n: 1.5, t: true, big: 2n ** 60n },
    outputs: [
      { name: 'f', datatype: 'FP32', shape: [2, 2], data: new Float32Array([1, -2, 3.5, Number.NaN]) },
      { name: 'i', datatype: 'INT64', shape: [3], data: new BigInt64Array([1n, -2n, 2n ** 62n]) },
      { name: 'u8', datatype: 'UINT8', shape: [0], data: new Uint8Array(0) },
      { name: 'h', datatype: 'FP16', shape: [1], data: new Uint16Array([0x3c00]) },
      { name: 's', datatype: 'BYTES', shape: [1, 3], data: ['a', '', 'ünï'].map((x) => new TextEncoder().encode(x)) },
      { name: 'scalar', datatype: 'FP64', shape: [], data: new Float64Array([Math.PI]) },
    ],
  };
}

test('round trip: outputs, parameters, model and version come back equal, the id does not', () => {
  const res = response();
  const bytes = encodeResponse(KEY, res, EXPIRES);
  const back = decodeResponse(bytes, KEY);
  assert.ok(back);
  assert.equal(back.expiresAt, EXPIRES);
  const { id: _dropped, ...rest } = res;
  assert.deepEqual(back.response, rest);
});

test('decoded tensors own fresh buffers: nothing aliases the entry bytes', () => {
  const bytes = encodeResponse(KEY, response(), EXPIRES);
  const back = decodeResponse(bytes, KEY)!.response;
  for (const t of back.outputs) {
    const views = Array.isArray(t.data) ? t.data : [t.data];
    for (const v of views) assert.notEqual(v.buffer, bytes.buffer, `${t.name} aliases the entry`);
  }
  const again = decodeResponse(bytes, KEY)!.response;
  (back.outputs[0]!.data as Float32Array)[0] = 99;
  assert.equal((again.outputs[0]!.data as Float32Array)[0], 1);
});

test('garbage is undefined, never a throw: empty, random, truncated, extended, another key, another format', () => {
  const good = encodeResponse(KEY, response(), EXPIRES);
  assert.equal(decodeResponse(new Uint8Array(0), KEY), undefined);
  assert.equal(decodeResponse(new TextEncoder().encode('OK'), KEY), undefined);
  assert.equal(decodeResponse(good.subarray(0, good.length - 1), KEY), undefined);
  assert.equal(decodeResponse(new Uint8Array([...good, 0]), KEY), undefined);
  assert.equal(decodeResponse(good, 'x'.repeat(64)), undefined, 'an entry moved to another key');
  const v2 = good.slice();
  v2[3] = 2;
  assert.equal(decodeResponse(v2, KEY), undefined, 'a format this build does not know');
});

test('any single flipped bit is detected (CRC-32 and the length checks)', () => {
  const good = encodeResponse(KEY, response(), EXPIRES);
  for (let i = 0; i < good.length; i++) {
    for (const bit of [0, 7]) {
      const bad = good.slice();
      bad[i] = (bad[i] as number) ^ (1 << bit);
      assert.equal(decodeResponse(bad, KEY), undefined, `byte ${i} bit ${bit}`);
    }
  }
});

test('property: arbitrary bytes never throw and are never taken for an entry', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 512 }), (b) => decodeResponse(b, KEY) === undefined),
    { numRuns: 2000, seed: 16 },
  );
});
