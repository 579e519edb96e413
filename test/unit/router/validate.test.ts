import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { InferRequest, ModelVersionSpec, Tensor } from '../../../src/core/index.js';
import { DEFAULT_EXECUTION } from '../../../src/config/execution.js';
import { classify } from '../../../src/router/classification.js';
import { validateInputs, validateOutputs } from '../../../src/router/validate.js';

const spec: ModelVersionSpec = {
  model: 'm',
  version: 1,
  path: '/x',
  maxBatchSize: 8,
  inputs: [
    { name: 'a', datatype: 'FP32', dims: [4] },
    { name: 'b', datatype: 'INT64', dims: [-1, 2] },
    { name: 'opt', datatype: 'FP32', dims: [1], optional: true },
  ],
  outputs: [{ name: 'y', datatype: 'FP32', dims: [4] }],
  instances: 1,
  execution: DEFAULT_EXECUTION,
  warmup: [],
};

const f32 = (name: string, shape: number[]): Tensor => ({
  name,
  datatype: 'FP32',
  shape,
  data: new Float32Array(shape.reduce((x, y) => x * y, 1)),
});
const i64 = (name: string, shape: number[]): Tensor => ({
  name,
  datatype: 'INT64',
  shape,
  data: new BigInt64Array(shape.reduce((x, y) => x * y, 1)),
});
const req = (inputs: Tensor[], extra: Partial<InferRequest> = {}): InferRequest => ({
  model: 'm',
  inputs,
  parameters: {},
  ...extra,
});

function rejects(r: InferRequest, pattern: RegExp): void {
  assert.throws(
    () => validateInputs(spec, r),
    (e: Error & { code?: string }) => e.code === 'IG_ERR_INVALID_ARG' && pattern.test(e.message),
  );
}

test('a well-formed request passes and reports its batch size', () => {
  const v = validateInputs(spec, req([f32('a', [3, 4]), i64('b', [3, 5, 2])]));
  assert.equal(v.batchSize, 3);
});

test('each violation is named: unknown input, missing input, dtype, shape, batch size', () => {
  rejects(req([f32('a', [1, 4]), i64('b', [1, 1, 2]), f32('zz', [1, 1])]), /unexpected inference input 'zz'/);
  rejects(req([f32('a', [1, 4])]), /missing required input\(s\) \['b'\]/);
  rejects(req([f32('a', [1, 4]), f32('b', [1, 1, 2])]), /input 'b' data-type is 'FP32', but model 'm' expects 'INT64'/);
  rejects(req([f32('a', [1, 5]), i64('b', [1, 1, 2])]), /unexpected shape for input 'a'/);
  rejects(req([f32('a', [1, 4]), i64('b', [1, 2])]), /unexpected shape for input 'b'/);
  rejects(req([f32('a', [9, 4]), i64('b', [9, 1, 2])]), /batch-size must be <= 8/);
  rejects(req([f32('a', [2, 4]), i64('b', [3, 1, 2])]), /batch size 3 does not match/);
  rejects(req([f32('a', [1, 4]), f32('a', [1, 4]), i64('b', [1, 1, 2])]), /more than once/);
});

test('unknown requested outputs are rejected with Triton text', () => {
  assert.throws(
    () => validateOutputs(spec, req([], { outputs: [{ name: 'nope' }] })),
    /unexpected inference output 'nope' for model 'm'/,
  );
});

test('reshape is applied to the model-visible shape', () => {
  const s: ModelVersionSpec = { ...spec, inputs: [{ name: 'a', datatype: 'FP32', dims: [1], reshape: [] }] };
  const v = validateInputs(s, req([f32('a', [5, 1])]));
  assert.deepEqual(v.inputs[0]!.shape, [5]);
});

test('classification returns top-k value:index:label per batch item', () => {
  const t: Tensor = { name: 'y', datatype: 'FP32', shape: [2, 3], data: new Float32Array([0.1, 0.7, 0.2, 3, 1, 2]) };
  const c = classify(t, 2, true, ['a', 'b', 'c']);
  assert.deepEqual(c.shape, [2, 2]);
  const s = (c.data as Uint8Array[]).map((b) => new TextDecoder().decode(b));
  assert.deepEqual(s, ['0.700000:1:b', '0.200000:2:c', '3.000000:0:a', '2.000000:2:c']);
});

test("classification values print as Triton's std::to_string: %f for floats, integers as they are", () => {
  const text = (t: Tensor) => (classify(t, 4, false).data as Uint8Array[]).map((b) => new TextDecoder().decode(b));
  const f64 = new Float64Array([1e22, -0.0000001, Number.NEGATIVE_INFINITY]);
  assert.deepEqual(text({ name: 'y', datatype: 'FP64', shape: [3], data: f64 }), [
    '10000000000000000000000.000000:0',
    '-0.000000:1',
    '-inf:2',
  ]);
  assert.deepEqual(text({ name: 'y', datatype: 'INT32', shape: [2], data: new Int32Array([5, -7]) }), ['5:0', '-7:1']);
});

test('a text-only runtime: a BYTES element with NUL or invalid UTF-8 is refused per request, naming it', () => {
  const s: ModelVersionSpec = { ...spec, inputs: [{ name: 't', datatype: 'BYTES', dims: [3] }], bytesAsText: true };
  const enc = new TextEncoder();
  const bytes = (...rows: Uint8Array[]): Tensor => ({
    name: 't',
    datatype: 'BYTES',
    shape: [1, rows.length],
    data: rows,
  });
  const ok = bytes(enc.encode('a'), enc.encode('é'), new Uint8Array(0));
  assert.equal(validateInputs(s, req([ok])).inputs[0], ok);
  assert.throws(
    () => validateInputs(s, req([bytes(enc.encode('a'), enc.encode('b\0c'), enc.encode('d'))])),
    /^InferError: input 't' element 1 contains a NUL byte, which model 'm' cannot take/,
  );
  assert.throws(
    () => validateInputs(s, req([bytes(enc.encode('a'), enc.encode('b'), Uint8Array.of(0xc3))])),
    /input 't' element 2 is not valid UTF-8, which model 'm' cannot take unchanged/,
  );
  // A runtime that carries bytes as bytes takes them as they are.
  const raw = bytes(enc.encode('a'), Uint8Array.of(0, 0xff), enc.encode('c'));
  assert.equal(validateInputs({ ...s, bytesAsText: false }, req([raw])).inputs[0], raw);
});
