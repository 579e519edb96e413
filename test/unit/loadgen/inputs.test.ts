import assert from 'node:assert/strict';
import { test } from 'node:test';
import { grpcRequest, httpBinaryRequest, httpJsonRequest, randomTensor } from '../../../src/loadgen/bodies.js';
import { parseShapeOverrides, resolveInputs } from '../../../src/loadgen/inputs.js';
import { seededRng } from '../../../src/loadgen/schedule.js';

test('metadata shapes get the batch in a leading -1 and a fill elsewhere', () => {
  const specs = resolveInputs([{ name: 'x', datatype: 'FP32', shape: [-1, 3, -1] }], 8, new Map(), 5);
  assert.deepEqual(specs, [{ name: 'x', datatype: 'FP32', shape: [8, 3, 5] }]);
});

test('shape overrides win, a nameless one applies to a single input', () => {
  const o = parseShapeOverrides(['2,784']);
  assert.deepEqual(resolveInputs([{ name: 'x', datatype: 'FP32', shape: [-1, 784] }], 1, o)[0]!.shape, [2, 784]);
  const named = parseShapeOverrides(['ids:1,128', 'mask:1x128']);
  assert.deepEqual(named.get('mask'), [1, 128]);
  assert.throws(() => parseShapeOverrides(['x:a,b']), /non-negative integers/);
  assert.throws(() => resolveInputs([{ name: 'x', datatype: 'COMPLEX', shape: [1] }], 1), /unsupported datatype/);
});

test('prepared bodies follow the wire formats', () => {
  const t = randomTensor({ name: 'x', datatype: 'FP32', shape: [2, 3] }, seededRng(1));
  const json = httpJsonRequest([t], { priority: 2 });
  const parsed = JSON.parse(json.body.toString()) as { parameters: object; inputs: Array<{ data: number[] }> };
  assert.deepEqual(parsed.parameters, { priority: 2 });
  assert.equal(parsed.inputs[0]!.data.length, 6);
  const bin = httpBinaryRequest([t]);
  const hlen = Number(bin.headers['inference-header-content-length']);
  assert.equal(bin.body.byteLength, hlen + 24);
  const head = JSON.parse(bin.body.subarray(0, hlen).toString()) as { inputs: Array<{ parameters: object }> };
  assert.deepEqual(head.inputs[0]!.parameters, { binary_data_size: 24 });
  assert.ok(grpcRequest('m', '', [t], { priority: 1 }).byteLength > 24);
});

test('random data respects datatypes', () => {
  const rng = seededRng(2);
  const ids = randomTensor({ name: 'ids', datatype: 'INT64', shape: [1, 4] }, rng);
  assert.ok(ids.data instanceof BigInt64Array);
  const s = randomTensor({ name: 's', datatype: 'BYTES', shape: [3] }, rng);
  assert.equal((s.data as Uint8Array[]).length, 3);
  assert.throws(() => httpJsonRequest([randomTensor({ name: 'h', datatype: 'FP16', shape: [1] }, rng)]), /binary/);
});
