import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { arrayCtor, DATATYPES, type DataType, elementCount, type Tensor } from '../../../src/core/index.js';
import { assembleInputs, concatTensor } from '../../../src/scheduler/assemble.js';
import { shapeKeyOf } from '../../../src/scheduler/shape-key.js';
import { splitOutputs } from '../../../src/scheduler/split.js';

/** A tensor of `rows` rows of shape [rows, 2, 3] whose elements encode (seed, index). */
function tensor(dt: DataType, rows: number, seed: number, name = 'x'): Tensor {
  const shape = [rows, 2, 3];
  const n = elementCount(shape);
  if (dt === 'BYTES') {
    const data = Array.from({ length: n }, (_, i) => new TextEncoder().encode(`${seed}:${i}`));
    return { name, datatype: dt, shape, data };
  }
  const data = new (arrayCtor(dt))(n);
  for (let i = 0; i < n; i++) {
    const v = (seed * 7 + i) % 100;
    (data as unknown as Array<number | bigint>)[i] =
      dt === 'INT64' || dt === 'UINT64' ? BigInt(v) : dt === 'BOOL' ? v % 2 : v;
  }
  return { name, datatype: dt, shape, data };
}

const asList = (t: Tensor) =>
  Array.from(t.data as ArrayLike<unknown>, (x) => (x instanceof Uint8Array ? [...x].join() : x));

for (const dt of DATATYPES) {
  test(`assemble then split round-trips ${dt}`, () => {
    const sizes = [1, 3, 2];
    const reqs = sizes.map((b, i) => [tensor(dt, b, i), tensor(dt, b, i + 10, 'y')]);
    const batch = assembleInputs(reqs);
    assert.equal(batch.length, 2);
    assert.deepEqual(batch[0]!.shape, [6, 2, 3]);
    assert.deepEqual(
      asList(batch[0]!),
      reqs.flatMap((r) => asList(r[0]!)),
    );
    assert.deepEqual(
      asList(batch[1]!),
      reqs.flatMap((r) => asList(r[1]!)),
    );
    // Fresh buffer: a new allocation, not one of the requests'.
    if (dt !== 'BYTES')
      for (const r of reqs) assert.notEqual((batch[0]!.data as Uint8Array).buffer, (r[0]!.data as Uint8Array).buffer);
    const parts = splitOutputs(batch, sizes);
    parts.forEach((outs, i) => {
      assert.deepEqual(outs[0]!.shape, [sizes[i], 2, 3]);
      assert.deepEqual(asList(outs[0]!), asList(reqs[i]![0]!));
      assert.deepEqual(asList(outs[1]!), asList(reqs[i]![1]!));
      assert.equal(outs[0]!.datatype, dt);
    });
  });
}

test('a batch of one is passed through without a copy', () => {
  const x = tensor('FP32', 2, 1);
  assert.equal(assembleInputs([[x]])[0], x);
  assert.equal(splitOutputs([x], [2])[0]![0], x);
});

test('inputs are matched by name, whatever the order in each request', () => {
  const a = [tensor('INT32', 1, 1, 'x'), tensor('INT32', 1, 2, 'y')];
  const b = [tensor('INT32', 1, 3, 'y'), tensor('INT32', 1, 4, 'x')];
  const [x, y] = assembleInputs([a, b]);
  assert.deepEqual(asList(x!), [...asList(a[0]!), ...asList(b[1]!)]);
  assert.deepEqual(asList(y!), [...asList(a[1]!), ...asList(b[0]!)]);
});

test('mismatched shapes, datatypes or batch dims are refused', () => {
  const a = tensor('FP32', 1, 1);
  assert.throws(() => concatTensor([a, { ...a, shape: [1, 3, 2] }]));
  assert.throws(() => concatTensor([a, tensor('FP64', 1, 1)]));
  assert.throws(() => assembleInputs([[a], [tensor('FP32', 1, 1, 'other')]]));
  assert.throws(() => splitOutputs([tensor('FP32', 3, 1)], [1, 1]));
  assert.throws(() => splitOutputs([{ name: 's', datatype: 'FP32', shape: [], data: new Float32Array(1) }], [1, 1]));
});

test('shape key: equal iff non-batch dims, datatypes, names and requested outputs agree', () => {
  const k = (rows: number, dims: number[], outputs?: string[]) =>
    shapeKeyOf({
      inputs: [{ name: 'x', datatype: 'FP32', shape: [rows, ...dims], data: new Float32Array(0) }],
      outputs,
    });
  assert.equal(k(1, [3]), k(5, [3]));
  assert.notEqual(k(1, [3]), k(1, [4]));
  assert.notEqual(k(1, [3]), k(1, [3], ['y']));
  assert.equal(k(1, [3], ['a', 'b']), k(2, [3], ['b', 'a']));
  assert.notEqual(k(1, [3], []), k(1, [3]));
});

test('property: split inverts assemble for random batch sizes', () => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 1, maxLength: 6 }), (sizes) => {
      const reqs = sizes.map((b, i) => [tensor('FP32', b, i)]);
      const parts = splitOutputs(assembleInputs(reqs), sizes);
      return parts.every((p, i) => JSON.stringify(asList(p[0]!)) === JSON.stringify(asList(reqs[i]![0]!)));
    }),
  );
});
