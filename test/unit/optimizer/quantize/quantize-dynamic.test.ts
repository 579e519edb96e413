import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as ort from 'onnxruntime-node';
import type { ModelProto } from '../../../../src/gen/onnx-ml_pb.js';
import { cpuInfo } from '../../../../src/optimizer/measure/cpu.js';
import { allGraphs } from '../../../../src/optimizer/model/graph.js';
import { createSession, fusionCheck } from '../../../../src/optimizer/measure/ort.js';
import { int8Scale, quantizeWeightInt8, uint8Params } from '../../../../src/optimizer/quantize/math.js';
import { quantizeDynamic } from '../../../../src/optimizer/quantize/dynamic.js';
import { buildIfModel, buildMlp, rng } from '../models.js';

const reduceRange = cpuInfo().reduceRangeDefault;

async function run(model: ModelProto, feeds: Record<string, ort.Tensor>): Promise<Float32Array> {
  const s = await createSession(model);
  const out = await s.run(feeds);
  await s.release();
  return out[s.outputNames[0]!]!.data as Float32Array;
}

function input(batch: number, k: number, seed = 7): ort.Tensor {
  const next = rng(seed);
  return new ort.Tensor(
    'float32',
    Float32Array.from({ length: batch * k }, () => next()),
    [batch, k],
  );
}

function maxRelErr(a: Float32Array, b: Float32Array): number {
  let diff = 0;
  let range = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    range = Math.max(range, Math.abs(a[i]!));
  }
  return diff / range;
}

const ops = (m: ModelProto) => allGraphs(m).flatMap((g) => g.graph.node.map((n) => n.opType));

describe('quant math', () => {
  it('keeps zero exact and scales per channel', () => {
    const p = uint8Params(0.5, 2);
    assert.equal(p.zeroPoint, 0, 'range widened to include 0');
    const q = uint8Params(-1, 3);
    assert.equal(Math.round(-(-1) / q.scale), q.zeroPoint);
    const w = Float32Array.from([1, -2, 0.5, 4]); // [[1,-2],[0.5,4]]
    const pc = quantizeWeightInt8(w, [2, 2], 1);
    assert.deepEqual(
      Array.from(pc.scales),
      [1 / 127, 4 / 127].map((v) => Math.fround(v)),
    );
    assert.deepEqual(Array.from(pc.q), [127, -64, 64, 127]);
    assert.equal(quantizeWeightInt8(w, [2, 2], undefined).scales[0], Math.fround(int8Scale(4)));
  });
});

describe('dynamic int8 quantization', () => {
  for (const variant of [
    { name: 'MatMul', opts: {} },
    { name: 'Gemm in Constant nodes', opts: { gemm: true, constantWeights: true } },
  ]) {
    it(`rewrites ${variant.name} layers and stays close to fp32 in onnxruntime`, async () => {
      const model = buildMlp([64, 96, 10], variant.opts);
      for (const perChannel of [true, false]) {
        const { model: q, quantized } = quantizeDynamic(model, { perChannel, reduceRange });
        assert.deepEqual(quantized, ['fc0', 'fc1']);
        const seen = ops(q);
        assert.ok(!seen.includes('Constant') && !seen.includes('Gemm') && !seen.includes('MatMul'));
        assert.equal(seen.filter((o) => o === 'MatMulInteger').length, 2);
        assert.ok(
          q.graph!.initializer.every((t) => t.dataType !== 1 || t.dims.length <= 1),
          'no float weight matrix left',
        );
        const x = input(8, 64);
        const err = maxRelErr(await run(model, { x }), await run(q, { x }));
        assert.ok(err < 0.05, `relative error ${err}`);
      }
    });
  }

  it('shares one DynamicQuantizeLinear between consumers of the same activation', () => {
    const model = buildMlp([8, 4]);
    const g = model.graph!;
    // A second MatMul reading x with the same weight.
    g.node.push({ ...g.node[0]!, name: 'fc0_twin', output: ['twin'] } as (typeof g.node)[number]);
    g.output.push({ ...g.output[0]!, name: 'twin' } as (typeof g.output)[number]);
    const { model: q } = quantizeDynamic(model);
    assert.equal(ops(q).filter((o) => o === 'DynamicQuantizeLinear').length, 1);
    assert.equal(q.graph!.initializer.filter((t) => t.dataType === 3 && t.dims.length === 2).length, 1);
  });

  it('honours exclusion by node name and by op type', () => {
    const model = buildMlp([8, 8, 4], { gemm: true });
    assert.deepEqual(quantizeDynamic(model, { excludeNodes: ['fc1'] }).quantized, ['fc0']);
    assert.deepEqual(quantizeDynamic(model, { excludeOpTypes: ['Gemm'] }).quantized, []);
  });

  it('quantizes MatMuls inside If branches', async () => {
    const model = buildIfModel(16, 8);
    const { model: q, quantized } = quantizeDynamic(model, { reduceRange });
    assert.deepEqual(quantized, ['mm_a', 'mm_b']);
    for (const c of [true, false]) {
      const feeds = { x: input(4, 16), cond: new ort.Tensor('bool', Uint8Array.from([c ? 1 : 0]), []) };
      assert.ok(maxRelErr(await run(model, feeds), await run(q, feeds)) < 0.05);
    }
  });

  it('lets onnxruntime fuse the pattern into int8 kernels', async () => {
    const { model: q } = quantizeDynamic(buildMlp([32, 16, 4]));
    const report = await fusionCheck(q);
    assert.equal(report.fusedKernels['DynamicQuantizeMatMul'], 2, report.message);
  });

  it('refuses opsets without DynamicQuantizeLinear', () => {
    assert.throws(() => quantizeDynamic(buildMlp([4, 2], { opset: 9 })), /opset >= 11.*opset 9/);
  });
});
