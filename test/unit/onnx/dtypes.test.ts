import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import ort from 'onnxruntime-node';
import { type DataType, toOrtType } from '../../../src/core/index.js';
import {
  buildModel,
  type ElemType,
  float16Array,
  fromFloat16Bits,
  GraphBuilder,
  type TensorValues,
  toFloat16Bits,
} from '../../../src/onnx/index.js';

// Every datatype onnxruntime-node can feed (BF16 has no JS tensor type in onnxruntime-common).
const SAMPLES: Array<[ElemType, ort.Tensor['data']]> = [
  ['BOOL', Uint8Array.from([1, 0, 1])],
  ['INT8', Int8Array.from([-128, 0, 127])],
  ['INT16', Int16Array.from([-32768, 1, 32767])],
  ['INT32', Int32Array.from([-(2 ** 31), 2, 2 ** 31 - 1])],
  ['INT64', BigInt64Array.from([-(2n ** 63n), 3n, 2n ** 63n - 1n])],
  ['UINT8', Uint8Array.from([0, 7, 255])],
  ['UINT16', Uint16Array.from([0, 8, 65535])],
  ['UINT32', Uint32Array.from([0, 9, 2 ** 32 - 1])],
  ['UINT64', BigUint64Array.from([0n, 10n, 2n ** 64n - 1n])],
  ['FP16', float16Array([-1.5, 0.25, 65504])],
  ['FP32', Float32Array.from([-1.5, 3.25, 1e30])],
  ['FP64', Float64Array.from([-1.5, Math.PI, 1e300])],
  ['STRING', ['a', '', 'héllo']],
];

function ortType(t: ElemType): ort.Tensor.Type {
  return toOrtType((t === 'STRING' ? 'BYTES' : t) as DataType) as ort.Tensor.Type;
}

describe('onnx builder datatypes', () => {
  for (const [type, data] of SAMPLES) {
    it(`Identity round-trips ${type}`, async () => {
      const g = new GraphBuilder(`identity_${type}`)
        .input('x', type, ['n'])
        .node('Identity', ['x'], ['y'])
        .output('y', type, ['n']);
      const session = await ort.InferenceSession.create(buildModel(g));
      const input =
        type === 'BOOL' ? new ort.Tensor('bool', data as Uint8Array, [3]) : new ort.Tensor(ortType(type), data, [3]);
      const out = (await session.run({ x: input }))['y']!;
      await session.release();
      assert.equal(out.type, ortType(type));
      assert.deepEqual(Array.from(out.data as ArrayLike<unknown>), Array.from(data as ArrayLike<unknown>));
    });
  }

  it('stores initializers of every datatype (raw_data; strings as string_data) that onnxruntime reads back', async () => {
    for (const [type, data] of SAMPLES) {
      const values: TensorValues = type === 'BOOL' ? [true, false, true] : (data as TensorValues);
      const g = new GraphBuilder('init').initializer('c', type, [3], values).node('Identity', ['c'], ['y']);
      g.output('y', type, [3]);
      const session = await ort.InferenceSession.create(buildModel(g));
      const out = (await session.run({}))['y']!;
      await session.release();
      assert.deepEqual(Array.from(out.data as ArrayLike<unknown>), Array.from(data as ArrayLike<unknown>), type);
    }
  });

  it('converts half-precision values both ways', () => {
    for (const v of [0, -0, 1, -2.5, 65504, 2 ** -14, 2 ** -24, Number.POSITIVE_INFINITY]) {
      assert.equal(fromFloat16Bits(toFloat16Bits(v)), v);
    }
    assert.equal(toFloat16Bits(1e6), 0x7c00);
    assert.ok(Number.isNaN(fromFloat16Bits(toFloat16Bits(Number.NaN))));
    assert.equal(fromFloat16Bits(toFloat16Bits(1 + 2 ** -11)), 1); // ties round to even
  });
});
