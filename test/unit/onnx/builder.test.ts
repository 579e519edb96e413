import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fromBinary } from '@bufbuild/protobuf';
import ort from 'onnxruntime-node';
import { ModelProtoSchema } from '../../../src/gen/onnx-ml_pb.js';
import { attr, buildModel, dense, GraphBuilder, relu, softmax } from '../../../src/onnx/index.js';

/** Runs a model once on the main thread (fine in a test) and returns its outputs. */
async function run(bytes: Uint8Array, feeds: Record<string, ort.Tensor>) {
  const session = await ort.InferenceSession.create(bytes);
  try {
    return await session.run(feeds);
  } finally {
    await session.release();
  }
}

/** Deterministic pseudo-random floats in [-1, 1). */
function floats(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

describe('onnx builder', () => {
  it('builds an Add model that onnxruntime runs', async () => {
    const g = new GraphBuilder('add')
      .input('a', 'FP32', ['batch', 3])
      .input('b', 'FP32', ['batch', 3])
      .node('Add', ['a', 'b'], ['sum'])
      .output('sum', 'FP32', ['batch', 3]);
    const out = await run(buildModel(g), {
      a: new ort.Tensor('float32', Float32Array.from([1, 2, 3, 4, 5, 6]), [2, 3]),
      b: new ort.Tensor('float32', Float32Array.from([10, 20, 30, 40, 50, 60]), [2, 3]),
    });
    assert.deepEqual(Array.from(out['sum']!.data as Float32Array), [11, 22, 33, 44, 55, 66]);
    assert.deepEqual(out['sum']!.dims, [2, 3]);
  });

  it('reports symbolic dims, ir_version and opset as declared', async () => {
    const g = new GraphBuilder('id').input('x', 'FP32', ['batch', 4]).node('Identity', ['x'], ['y']);
    g.output('y', 'FP32', ['batch', 4]);
    const bytes = buildModel(g, { metadata: { author: 'test' } });
    const model = fromBinary(ModelProtoSchema, bytes);
    assert.equal(model.irVersion, 8n);
    assert.deepEqual(
      model.opsetImport.map((o) => [o.domain, o.version]),
      [['', 17n]],
    );
    const session = await ort.InferenceSession.create(bytes);
    const meta = session.inputMetadata[0]!;
    assert.ok(meta.isTensor);
    if (meta.isTensor) assert.deepEqual(meta.shape, ['batch', 4]);
    await session.release();
  });

  it('MatMul+Add+Relu MLP with Softmax matches a JS reference', async () => {
    const [n, h, m, batch] = [5, 7, 3, 4];
    const l1 = { inFeatures: n, outFeatures: h, weights: floats(n * h, 1), bias: floats(h, 2) };
    const l2 = { inFeatures: h, outFeatures: m, weights: floats(h * m, 3), bias: floats(m, 4) };
    const g = new GraphBuilder('mlp').input('x', 'FP32', ['batch', n]);
    softmax(g, dense(g, relu(g, dense(g, 'x', l1, 'fc1')), l2, 'fc2'), 'probs');
    g.output('probs', 'FP32', ['batch', m]);
    const x = floats(batch * n, 5);
    const out = await run(buildModel(g), { x: new ort.Tensor('float32', x, [batch, n]) });
    const got = out['probs']!.data as Float32Array;
    const want = referenceMlp(x, batch, l1, l2);
    for (let i = 0; i < want.length; i++) assert.ok(Math.abs(got[i]! - want[i]!) < 1e-5, `probs[${i}]`);
  });

  it('writes attributes of every kind that ops read back', async () => {
    // Constant(value=tensor) → Gemm(alpha float, transB int) → Transpose(perm ints) → Cast(to int)
    const g = new GraphBuilder('attrs').input('x', 'FP32', [2, 2]);
    g.node('Constant', [], ['w'], { value: attr.tensor('FP32', [2, 2], [1, 2, 3, 4]) });
    g.node('Gemm', ['x', 'w'], ['y'], { alpha: attr.float(2), transB: 1 });
    g.node('Transpose', ['y'], ['t'], { perm: [1, 0] });
    g.node('Cast', ['t'], ['out'], { to: 7 });
    g.output('out', 'INT64', [2, 2]);
    const out = await run(buildModel(g), { x: new ort.Tensor('float32', Float32Array.from([1, 0, 0, 1]), [2, 2]) });
    // y = 2 · x · wᵀ = 2 · [[1,3],[2,4]]; transposed → [[2,4],[6,8]]
    assert.deepEqual(Array.from(out['out']!.data as BigInt64Array), [2n, 4n, 6n, 8n]);
  });

  it('rejects wiring mistakes before onnxruntime sees them', () => {
    const g = new GraphBuilder('bad').input('x', 'FP32', [1]).node('Relu', ['X'], ['y']).output('y', 'FP32', [1]);
    assert.throws(() => buildModel(g), /reads undefined 'X'/);
    const h = new GraphBuilder('bad2').input('x', 'FP32', [1]).output('z', 'FP32', [1]);
    assert.throws(() => buildModel(h), /'z' is never produced/);
    assert.throws(() => new GraphBuilder('c').initializer('w', 'FP32', [2, 2], [1, 2, 3]), /3 values/);
  });
});

type Layer = { inFeatures: number; outFeatures: number; weights: Float32Array; bias: Float32Array };

function referenceDense(x: Float32Array, batch: number, l: Layer, reluOut: boolean): Float32Array {
  const y = new Float32Array(batch * l.outFeatures);
  for (let b = 0; b < batch; b++) {
    for (let j = 0; j < l.outFeatures; j++) {
      let s = l.bias[j]!;
      for (let i = 0; i < l.inFeatures; i++) s += x[b * l.inFeatures + i]! * l.weights[i * l.outFeatures + j]!;
      y[b * l.outFeatures + j] = reluOut ? Math.max(0, s) : s;
    }
  }
  return y;
}

function referenceMlp(x: Float32Array, batch: number, l1: Layer, l2: Layer): Float32Array {
  const z = referenceDense(referenceDense(x, batch, l1, true), batch, l2, false);
  const m = l2.outFeatures;
  for (let b = 0; b < batch; b++) {
    const row = z.subarray(b * m, (b + 1) * m);
    const max = Math.max(...row);
    let sum = 0;
    for (let j = 0; j < m; j++) sum += row[j] = Math.exp(row[j]! - max);
    for (let j = 0; j < m; j++) row[j]! /= sum;
  }
  return z;
}
