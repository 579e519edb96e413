// What a TypeScript model returns, checked against its config before it leaves the worker: the
// conveniences (plain arrays, strings for BYTES) and every refusal, each naming the output.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { DeclaredTensor } from '../../../src/backend/typescript/api.js';
import { checkedOutputs, inputsFromWire, TensorRefusal } from '../../../src/backend/typescript/worker-tensors.js';
import { packBytes, unpackBytes } from '../../../src/backend/ort/wire.js';

const declared = new Map<string, DeclaredTensor>([
  ['y', { name: 'y', datatype: 'FP32', dims: [-1, 2] }],
  ['ids', { name: 'ids', datatype: 'INT64', dims: [1] }],
  ['text', { name: 'text', datatype: 'BYTES', dims: [1] }],
  ['ok', { name: 'ok', datatype: 'BOOL', dims: [1] }],
]);
const rules = (requested: string[], batch: number | undefined) => ({ requested, declared, batch });

test('typed arrays pass as they are; plain arrays and strings become the carried layout', () => {
  const [y, ids, text, ok] = checkedOutputs(
    {
      y: { datatype: 'FP32', shape: [2, 3, 2], data: new Float32Array(12).fill(0.5) },
      ids: { datatype: 'INT64', shape: [2, 1], data: [7, 8n] },
      text: { datatype: 'BYTES', shape: [2, 1], data: ['é', new Uint8Array([1, 2])] },
      ok: { datatype: 'BOOL', shape: [2, 1], data: [true, false] },
      extra: 'ignored: not requested',
    },
    rules(['y', 'ids', 'text', 'ok'], 2),
  );
  assert.deepEqual(y!.shape, [2, 3, 2]);
  assert.ok(y!.data instanceof Float32Array);
  assert.deepEqual(ids!.data, new BigInt64Array([7n, 8n]));
  assert.ok(!ArrayBuffer.isView(text!.data));
  assert.deepEqual(
    unpackBytes(text!.data as never).map((b) => [...b]),
    [
      [0xc3, 0xa9],
      [1, 2],
    ],
  );
  assert.deepEqual(ok!.data, new Uint8Array([1, 0]));
});

test('only the requested outputs are checked and returned', () => {
  const out = checkedOutputs({ ok: { datatype: 'BOOL', shape: [2, 1], data: new Uint8Array(2) } }, rules(['ok'], 2));
  assert.deepEqual(
    out.map((t) => t.name),
    ['ok'],
  );
});

test('each misfit is refused with a message naming the output', () => {
  const y = (t: object) => ({ y: { datatype: 'FP32', shape: [2, 1, 2], data: new Float32Array(4), ...t } });
  const cases: Array<[unknown, RegExp, number | undefined]> = [
    [undefined, /returned undefined, not an object of output tensors/, 2],
    [{}, /returned no output 'y'/, 2],
    [y({ datatype: 'FP64' }), /output 'y' has datatype FP64, but the config declares FP32/, 2],
    [y({ datatype: 'FLOAT' }), /output 'y' has an unknown datatype 'FLOAT'/, 2],
    [
      y({ shape: [3, 1, 2], data: new Float32Array(6) }),
      /output 'y' has shape \[3,1,2\], but the config allows \[2,-1,2\] for a batch of 2/,
      2,
    ],
    [y({ shape: [2, 2] }), /output 'y' has shape \[2,2\], but the config allows \[2,-1,2\]/, 2],
    [
      y({ shape: [2], data: new Float32Array(2) }),
      /output 'y' has shape \[2\], but the config allows \[-1,2\]$/,
      undefined,
    ],
    [y({ shape: [2, -1, 2] }), /output 'y' has an invalid shape/, 2],
    [y({ data: new Float32Array(3) }), /output 'y' holds 3 elements, but its shape \[2,1,2\] needs 4/, 2],
    [y({ data: new Float64Array(4) }), /output 'y' is FP32: its data must be a Float32Array/, 2],
    [y({ data: ['a', 'b', 'c', 'd'] }), /output 'y' is FP32: its data must be a Float32Array/, 2],
    [{ y: 'not a tensor' }, /output 'y' is not a tensor/, 2],
  ];
  for (const [result, message, batch] of cases)
    assert.throws(
      () => checkedOutputs(result, rules(['y'], batch)),
      (err: unknown) => err instanceof TensorRefusal && message.test(err.message),
      String(message),
    );
  assert.throws(
    () => checkedOutputs({ text: { datatype: 'BYTES', shape: [2, 1], data: [1, 2] } }, rules(['text'], 2)),
    /output 'text' is BYTES: its data must be an array of strings or Uint8Arrays/,
  );
  assert.throws(() => checkedOutputs({}, rules(['z'], 2)), /output 'z' is not declared in the config/);
});

test("a batch sent as each request's rows reaches the model joined along dim 0", () => {
  const inputs = inputsFromWire([
    { name: 'x', datatype: 'INT32', shape: [3, 2], rows: [new Int32Array([1, 2]), new Int32Array([3, 4, 5, 6])] },
    {
      name: 's',
      datatype: 'BYTES',
      shape: [2],
      rows: [packBytes([new Uint8Array([9])]), packBytes([new Uint8Array([8])])],
    },
  ]);
  assert.deepEqual(inputs['x'], { datatype: 'INT32', shape: [3, 2], data: new Int32Array([1, 2, 3, 4, 5, 6]) });
  assert.deepEqual(
    (inputs['s']!.data as Uint8Array[]).map((b) => [...b]),
    [[9], [8]],
  );
});
