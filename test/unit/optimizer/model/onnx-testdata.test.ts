/**
 * Against Debian's libonnx-testdata (ONNX backend conformance cases with reference inputs/outputs
 * as TensorProto .pb files): our protobuf load/save must round-trip every model byte for byte, and
 * the ops our passes emit must compute in onnxruntime-node what the reference outputs say.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fromBinary, toBinary } from '@bufbuild/protobuf';
import * as ort from 'onnxruntime-node';
import { type TensorProto, TensorProtoSchema } from '../../../../src/gen/onnx-ml_pb.js';
import { decodeModel, encodeModel } from '../../../../src/optimizer/model/io.js';
import { createSession } from '../../../../src/optimizer/measure/ort.js';

const ROOT = '/usr/share/libonnx-testdata/data';
// Under CI=true a missing package fails these tests (they run and cannot find the files).
const skip =
  process.env.CI !== 'true' &&
  !existsSync(ROOT) &&
  'libonnx-testdata not installed (apt-get install libonnx-testdata; .ci/run does)';

function modelFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...modelFiles(p));
    else if (e.name.endsWith('.onnx')) out.push(p);
  }
  return out;
}

const TYPES: Record<number, [ort.Tensor.Type, new (n: number) => ArrayLike<number | bigint> & ArrayBufferView]> = {
  1: ['float32', Float32Array],
  2: ['uint8', Uint8Array],
  3: ['int8', Int8Array],
  6: ['int32', Int32Array],
  7: ['int64', BigInt64Array],
  10: ['float16', Uint16Array],
};

// A TensorProto as an ort.Tensor, whichever field holds its values.
function toOrt(t: TensorProto): ort.Tensor {
  const [type, Ctor] = TYPES[t.dataType] ?? [];
  if (!type || !Ctor) throw new Error(`unsupported reference type ${t.dataType}`);
  const dims = t.dims.map(Number);
  const n = dims.reduce((a, b) => a * b, 1);
  const data = new Ctor(n) as unknown as Record<number, number | bigint> & ArrayBufferView;
  if (t.rawData.length > 0) new Uint8Array(data.buffer).set(t.rawData);
  else {
    const src: ArrayLike<number | bigint> =
      t.dataType === 1 ? t.floatData : t.dataType === 7 ? t.int64Data : t.int32Data;
    for (let i = 0; i < n; i++) data[i] = src[i]!;
  }
  return new ort.Tensor(type, data as unknown as Float32Array, dims);
}

const readPb = (p: string) => fromBinary(TensorProtoSchema, readFileSync(p));

describe('libonnx-testdata', { skip }, () => {
  it('every model and reference tensor round-trips byte for byte', () => {
    const files = modelFiles(ROOT);
    assert.ok(files.length > 1000, `found ${files.length} models`);
    const differ = files.filter((f) => {
      const bytes = new Uint8Array(readFileSync(f));
      return !Buffer.from(encodeModel(decodeModel(bytes, f))).equals(bytes);
    });
    assert.deepEqual(differ, []);
    const pb = join(ROOT, 'node/test_qlinearconv/test_data_set_0/input_0.pb');
    assert.ok(Buffer.from(toBinary(TensorProtoSchema, readPb(pb))).equals(readFileSync(pb)));
  });

  const cases = [
    'test_quantizelinear',
    'test_quantizelinear_axis',
    'test_dequantizelinear',
    'test_dequantizelinear_axis',
    'test_dynamicquantizelinear',
    'test_dynamicquantizelinear_max_adjusted',
    'test_dynamicquantizelinear_min_adjusted',
    'test_matmulinteger',
    'test_qlinearmatmul_2D',
    'test_qlinearmatmul_3D',
    'test_qlinearconv',
    'test_cast_FLOAT_to_FLOAT16',
  ];
  for (const name of cases) {
    it(`${name}: onnxruntime-node computes the reference outputs`, async () => {
      const dir = join(ROOT, 'node', name);
      const model = decodeModel(new Uint8Array(readFileSync(join(dir, 'model.onnx'))), name);
      const s = await createSession(model);
      try {
        for (const set of readdirSync(dir).filter((d) => d.startsWith('test_data_set_'))) {
          const files = readdirSync(join(dir, set));
          const feeds = Object.fromEntries(
            files
              .filter((f) => f.startsWith('input_'))
              .sort()
              .map((f, i) => [model.graph!.input[i]!.name, toOrt(readPb(join(dir, set, f)))]),
          );
          const out = await s.run(feeds);
          files
            .filter((f) => f.startsWith('output_'))
            .sort()
            .forEach((f, i) => {
              const want = toOrt(readPb(join(dir, set, f)));
              const got = out[model.graph!.output[i]!.name]!;
              assert.deepEqual(got.dims, want.dims);
              const [g, w] = [Array.from(got.data as Float32Array), Array.from(want.data as Float32Array)];
              // Exact for integers and float16 bits; float32 (scales) within one ulp-ish.
              if (want.type === 'float32')
                for (const [k, v] of g.entries())
                  assert.ok(Math.abs(v - w[k]!) <= 1e-6 * Math.max(1, Math.abs(w[k]!)), `${f}[${k}]`);
              else assert.deepEqual(g, w, `${set}/${f}`);
            });
        }
      } finally {
        await s.release();
      }
    });
  }
});
