import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as ort from 'onnxruntime-node';
import type { ModelProto } from '../../../../src/gen/onnx-ml_pb.js';
import { fromFloat16Bits, toFloat16Bits } from '../../../../src/onnx/float16.js';
import { convertFp16, FP16_MAX, FP16_MIN_POSITIVE } from '../../../../src/optimizer/convert/fp16.js';
import { allGraphs } from '../../../../src/optimizer/model/graph.js';
import { encodeModel } from '../../../../src/optimizer/model/io.js';
import { createSession } from '../../../../src/optimizer/measure/ort.js';
import { floatTensor, tensorToFloat32 } from '../../../../src/optimizer/model/tensor-data.js';
import { buildConvNet, buildIfModel, buildMlp, node, rng } from '../models.js';

function input(dims: number[], seed = 4): ort.Tensor {
  const next = rng(seed);
  return new ort.Tensor(
    'float32',
    Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, () => next()),
    dims,
  );
}

async function run(model: ModelProto, feeds: Record<string, ort.Tensor>): Promise<ort.Tensor> {
  const s = await createSession(model);
  const y = (await s.run(feeds))[s.outputNames[0]!]!;
  await s.release();
  return y;
}

const asFloat = (t: ort.Tensor) =>
  t.type === 'float16' ? Float32Array.from(t.data as Uint16Array, fromFloat16Bits) : (t.data as Float32Array);

function relErr(a: Float32Array, b: Float32Array): number {
  let diff = 0;
  let range = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    range = Math.max(range, Math.abs(a[i]!));
  }
  return diff / range;
}

const cases: [string, () => ModelProto, Record<string, ort.Tensor>][] = [
  ['MLP', () => buildMlp([64, 96, 10]), { x: input([4, 64]) }],
  ['conv net with Constant weights', () => buildConvNet({ constantWeights: true }), { x: input([4, 1, 8, 8]) }],
  [
    'If model (weights in subgraphs)',
    () => buildIfModel(16, 8),
    { x: input([4, 16]), cond: new ort.Tensor('bool', Uint8Array.of(0), []) },
  ],
];

describe('fp16 conversion', () => {
  for (const [name, build, feeds] of cases) {
    it(`converts the ${name}: float32 I/O kept, fp16 tolerance, about half the size`, async () => {
      const model = build();
      const r = convertFp16(model);
      const y = await run(r.model, feeds);
      assert.equal(y.type, 'float32', 'keepIoTypes: outputs stay float32');
      const err = relErr(asFloat(await run(model, feeds)), asFloat(y));
      assert.ok(err < 5e-3, `relative error ${err}`);
      const ratio = encodeModel(r.model).length / encodeModel(model).length;
      assert.ok(ratio < 0.75, `size ratio ${ratio}`);
      for (const { graph } of allGraphs(r.model)) for (const t of graph.initializer) assert.equal(t.dataType, 10);
    });
  }

  it('makes the I/O float16 when asked', async () => {
    const r = convertFp16(buildMlp([8, 4]), { keepIoTypes: false });
    const x = input([2, 8]);
    const half = new ort.Tensor('float16', Uint16Array.from(x.data as Float32Array, toFloat16Bits), x.dims);
    assert.equal((await run(r.model, { x: half })).type, 'float16');
  });

  it('clamps weights into the float16 range, keeping the sign of tiny values', () => {
    const model = buildMlp([2, 2]);
    model.graph!.initializer[0] = floatTensor('W0', [2, 2], Float32Array.of(1e6, -1e-9, 0, 0.5));
    const r = convertFp16(model, { autoBlockOverflow: false });
    assert.equal(r.clamped, 2);
    const w = tensorToFloat32(r.model.graph!.initializer.find((t) => t.name === 'W0')!);
    assert.deepEqual(Array.from(w), [FP16_MAX, -FP16_MIN_POSITIVE, 0, 0.5]);
  });

  it('keeps a node whose constants overflow float16 in float32 instead of clamping them', async () => {
    // y = (x·W0 + B0) / D with D like a BatchNormalization running variance of 1e8 (beyond ±65504).
    const model = buildMlp([4, 3]);
    const g = model.graph!;
    g.node[1]!.output[0] = 'pre';
    g.node.push(node('Div', ['pre', 'D'], ['y'], 'scale_down'));
    g.initializer.push(floatTensor('D', [3], Float32Array.of(1e8, 2e5, 1)));
    g.initializer[1] = floatTensor('B0', [3], Float32Array.of(3e4, 5, 1));
    const r = convertFp16(model);
    assert.deepEqual(r.blockedNodes, ['scale_down']);
    assert.equal(r.model.graph!.initializer.find((t) => t.name === 'D')!.dataType, 1, 'divisor stays float32');
    const feeds = { x: input([2, 4]) };
    const [a, b] = [asFloat(await run(model, feeds)), asFloat(await run(r.model, feeds))];
    assert.ok(relErr(a, b) < 5e-3, `relative error ${relErr(a, b)}`);
    const clamped = await run(convertFp16(model, { autoBlockOverflow: false }).model, feeds);
    assert.ok(relErr(a, asFloat(clamped)) > 0.5, 'clamping the divisor would have broken the output');
  });

  it('keeps blocked ops in float32 between Casts (default list plus user additions)', async () => {
    const model = buildConvNet();
    const r = convertFp16(model, { extraBlockOps: ['MaxPool'] });
    assert.deepEqual(r.blockedNodes, ['pool1']);
    const pool = r.model.graph!.node.find((n) => n.name === 'pool1')!;
    const producer = r.model.graph!.node.find((n) => n.output.includes(pool.input[0]!))!;
    assert.equal(producer.opType, 'Cast');
    const feeds = { x: input([2, 1, 8, 8]) };
    assert.ok(relErr(asFloat(await run(model, feeds)), asFloat(await run(r.model, feeds))) < 5e-3);
  });

  it('refuses a model with no float32 tensors', () => {
    const once = convertFp16(buildMlp([4, 2]), { keepIoTypes: false }).model;
    assert.throws(() => convertFp16(once), /no float32 tensors/);
  });
});
