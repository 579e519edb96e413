import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as ort from 'onnxruntime-node';
import type { ModelProto } from '../../../../src/gen/onnx-ml_pb.js';
import {
  calibratedRange,
  startHistogram,
  type TensorStats,
  updateHistogram,
  updateMinMax,
} from '../../../../src/optimizer/calibrate/range.js';
import { cpuInfo } from '../../../../src/optimizer/measure/cpu.js';
import type { ValidationSet } from '../../../../src/optimizer/data/validation-set.js';
import { allGraphs } from '../../../../src/optimizer/model/graph.js';
import { createSession, fusionCheck } from '../../../../src/optimizer/measure/ort.js';
import { quantizeStatic } from '../../../../src/optimizer/quantize/static.js';
import { buildConvNet, buildMlp, rng } from '../models.js';

// Full 8-bit weights saturate int16 pair sums on x86 without VNNI; follow the machine's default.
const reduceRange = cpuInfo().reduceRangeDefault;
const ops = (m: ModelProto) => allGraphs(m).flatMap((g) => g.graph.node.map((n) => n.opType));

function stats(data: Float32Array, bins: number): TensorStats {
  const s: TensorStats = { min: Number.POSITIVE_INFINITY, max: Number.NEGATIVE_INFINITY };
  updateMinMax(s, data);
  startHistogram(s, bins);
  updateHistogram(s, data);
  return s;
}

// Student-t with 2 degrees of freedom: heavy tails, a few far outliers.
function heavyTailed(n: number, seed = 1): Float32Array {
  const next = rng(seed);
  const gauss = () => Math.sqrt(-2 * Math.log(next() + 1e-12)) * Math.cos(2 * Math.PI * next());
  return Float32Array.from({ length: n }, () => {
    const chi2 = gauss() ** 2 + gauss() ** 2;
    return gauss() / Math.sqrt(chi2 / 2);
  });
}

function rowsOf(n: number, len: number, seed = 3): Float32Array[] {
  const next = rng(seed);
  return Array.from({ length: n }, () => Float32Array.from({ length: len }, () => next()));
}

async function outputs(model: ModelProto, set: ValidationSet): Promise<Float32Array> {
  const len = set.rowShape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(set.rows.length * len);
  for (const [i, r] of set.rows.entries()) data.set(r, i * len);
  const s = await createSession(model);
  const y = (await s.run({ [set.input]: new ort.Tensor('float32', data, [set.rows.length, ...set.rowShape]) }))[
    s.outputNames[0]!
  ]!.data as Float32Array;
  await s.release();
  return y;
}

function relErr(a: Float32Array, b: Float32Array): number {
  let diff = 0;
  let range = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    range = Math.max(range, Math.abs(a[i]!));
  }
  return diff / range;
}

describe('calibration ranges', () => {
  const data = heavyTailed(50_000);
  const minmax = calibratedRange(stats(data, 2048), { method: 'minmax' });

  it('entropy with 2048 bins clips a heavy tail well inside the MinMax range', () => {
    const ent = calibratedRange(stats(data, 2048), { method: 'entropy' });
    const pure = calibratedRange(stats(data, 2048), { method: 'entropy', entropyCoverage: 0 });
    assert.ok(pure.max <= ent.max);
    const width = (r: { min: number; max: number }) => r.max - r.min;
    assert.ok(
      width(ent) < 0.5 * width(minmax),
      `entropy [${ent.min}, ${ent.max}] vs minmax [${minmax.min}, ${minmax.max}]`,
    );
    assert.ok(ent.max > 2, 'but keeps the bulk of the distribution');
  });

  it('floors the KL threshold so a spiky histogram does not clip real signal', () => {
    // 80% of values sit on one constant (a Relu(bias) over a blank background), 20% spread to 2.
    const next = rng(4);
    const spiky = Float32Array.from({ length: 50_000 }, () => (next() < 0.8 ? 0.08 : next() * 2));
    const s = stats(spiky, 2048);
    const pure = calibratedRange(s, { method: 'entropy', entropyCoverage: 0 });
    const floored = calibratedRange(s, { method: 'entropy' });
    assert.ok(pure.max < 1, `pure KL keeps only [0, ${pure.max}]`);
    assert.ok(floored.max > 1.99, `floored threshold ${floored.max}`);
  });

  it('shows the trap: entropy with as many bins as levels has one candidate and equals MinMax', () => {
    const ent = calibratedRange(stats(data, 128), { method: 'entropy' });
    assert.ok(Math.abs(ent.max - minmax.max) < 1e-3 && Math.abs(ent.min - minmax.min) < 1e-3);
  });

  it('percentile is configurable and never widens the observed range', () => {
    const s = stats(data, 2048);
    const p99 = calibratedRange(s, { method: 'percentile', percentile: 99 });
    const p99999 = calibratedRange(s, { method: 'percentile', percentile: 99.999 });
    assert.ok(p99.max < p99999.max && p99999.max <= minmax.max);
    assert.ok(p99.min > p99999.min && p99999.min >= minmax.min);
  });

  it('ignores the ReLU spike at zero so entropy does not collapse on non-negative data', () => {
    const relu = heavyTailed(50_000, 2).map((v) => Math.max(0, Math.min(v, 4)));
    const ent = calibratedRange(stats(relu, 2048), { method: 'entropy' });
    assert.equal(ent.min, 0);
    assert.ok(ent.max > 2, `threshold ${ent.max} of 4`);
  });
});

describe('static QDQ int8 quantization', () => {
  const mlpSet: ValidationSet = { input: 'x', rowShape: [64], rows: rowsOf(48, 64) };
  const convSet: ValidationSet = { input: 'x', rowShape: [1, 8, 8], rows: rowsOf(48, 64) };

  for (const method of ['minmax', 'percentile', 'entropy'] as const) {
    it(`quantizes an MLP (${method}) that tracks fp32 and fuses into QGemm`, async () => {
      const model = buildMlp([64, 96, 10]);
      const r = await quantizeStatic(model, mlpSet, { calibration: { method }, reduceRange });
      assert.deepEqual(r.quantized, ['fc0', 'fc1']);
      const err = relErr(await outputs(model, mlpSet), await outputs(r.model, mlpSet));
      assert.ok(err < 0.05, `relative error ${err}`);
      const fusion = await fusionCheck(r.model);
      assert.equal(fusion.fusedKernels['QGemm'], 2, fusion.message);
    });
  }

  it('quantizes a conv net held in Constant nodes: per-channel int8, int32 bias, QLinearConv', async () => {
    const model = buildConvNet({ constantWeights: true });
    const r = await quantizeStatic(model, convSet, { calibration: { method: 'minmax' }, reduceRange });
    assert.deepEqual(r.quantized, ['conv1', 'conv2', 'fc']);
    const seen = ops(r.model);
    assert.ok(!seen.includes('Constant') && !seen.includes('Relu'), 'weights lifted, Relu folded into Q');
    const inits = r.model.graph!.initializer;
    const w = inits.find((t) => t.name === 'c2_w_quantized')!;
    assert.equal(w.dataType, 3);
    assert.deepEqual(inits.find((t) => t.name === 'c2_w_scale')!.dims, [8n], 'one scale per output channel');
    assert.equal(inits.find((t) => t.name === 'c2_b_quantized')!.dataType, 6, 'bias is int32');
    const err = relErr(await outputs(model, convSet), await outputs(r.model, convSet));
    assert.ok(err < 0.06, `relative error ${err}`);
    const fusion = await fusionCheck(r.model);
    assert.equal(fusion.fusedKernels['QLinearConv'], 2, fusion.message);
    assert.equal(fusion.fusedKernels['QGemm'], 1, fusion.message);
  });

  it('keeps excluded nodes and op types in float', async () => {
    const model = buildConvNet();
    const byName = await quantizeStatic(model, convSet, { calibration: { method: 'minmax' }, excludeNodes: ['conv2'] });
    assert.deepEqual(byName.quantized, ['conv1', 'fc']);
    const conv2 = byName.model.graph!.node.find((n) => n.name === 'conv2')!;
    assert.equal(conv2.input[1], 'c2_w', 'conv2 still reads its float weight');
    const byType = await quantizeStatic(model, convSet, {
      calibration: { method: 'minmax' },
      excludeOpTypes: ['Gemm'],
    });
    assert.deepEqual(byType.quantized, ['conv1', 'conv2']);
  });

  it('names the input and both shapes when calibration data does not fit', async () => {
    const bad: ValidationSet = { input: 'x', rowShape: [1, 6, 6], rows: rowsOf(4, 36) };
    await assert.rejects(
      quantizeStatic(buildConvNet(), bad, { calibration: { method: 'minmax' } }),
      /input "x": rows are \[N,1,6,6\] but the model expects \[batch,1,8,8\]/,
    );
  });

  it('refuses opsets without QuantizeLinear', async () => {
    await assert.rejects(
      quantizeStatic(buildMlp([4, 2], { opset: 9 }), mlpSet, { calibration: { method: 'minmax' } }),
      /opset >= 10.*opset 9/,
    );
  });
});
