import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as ort from 'onnxruntime-node';
import type { ModelProto } from '../../../../src/gen/onnx-ml_pb.js';
import type { ValidationSet } from '../../../../src/optimizer/data/validation-set.js';
import { createSession } from '../../../../src/optimizer/measure/ort.js';
import { findNeuronChains, neuronsToKeep, pruneStructured } from '../../../../src/optimizer/prune/structured.js';
import { parseSparsities, sweepPruning } from '../../../../src/optimizer/prune/sweep.js';
import { compressedSize, pruneUnstructured, zeroSmallest } from '../../../../src/optimizer/prune/unstructured.js';
import { tensorToFloat32 } from '../../../../src/optimizer/model/tensor-data.js';
import { buildMlp, rng } from '../models.js';

async function run(model: ModelProto, x: Float32Array, dims: number[]): Promise<Float32Array> {
  const s = await createSession(model);
  const out = await s.run({ x: new ort.Tensor('float32', x, dims) });
  await s.release();
  return out[s.outputNames[0]!]!.data as Float32Array;
}

function randomSet(n: number, k: number, seed = 4): ValidationSet {
  const next = rng(seed);
  return { input: 'x', rowShape: [k], rows: Array.from({ length: n }, () => Float32Array.from({ length: k }, next)) };
}

describe('unstructured magnitude pruning', () => {
  it('zeroes exactly k smallest magnitudes, ties included', () => {
    const w = Float32Array.from([0.5, -0.1, 0.1, 2, -3, 0.1]);
    assert.equal(zeroSmallest(w, 3), 3);
    assert.deepEqual(Array.from(w), [0.5, 0, 0, 2, -3, 0]);
  });

  it('zeroes the requested fraction per layer and compresses better, same shapes', () => {
    const m = buildMlp([64, 128, 10]);
    const r = pruneUnstructured(m, 0.8);
    assert.equal(r.layers.length, 2);
    for (const l of r.layers) assert.equal(l.zeroed, Math.floor(0.8 * l.params));
    const w0 = tensorToFloat32(r.model.graph!.initializer.find((t) => t.name === 'W0')!);
    assert.equal(w0.length, 64 * 128, 'shapes unchanged: no speedup, which the note says');
    assert.match(r.notes[0]!, /no speedup/);
    assert.ok(compressedSize(r.model) < 0.5 * compressedSize(m));
  });
});

describe('structured neuron pruning', () => {
  for (const gemm of [false, true]) {
    it(`shrinks ${gemm ? 'Gemm (transB)' : 'MatMul+Add'} chains and keeps the surviving neurons exact`, async () => {
      const m = buildMlp([16, 40, 30, 4], { gemm });
      assert.equal(findNeuronChains(m.graph!).length, 2);
      const r = pruneStructured(m, 0.5);
      const dims = Object.fromEntries(r.model.graph!.initializer.map((t) => [t.name, t.dims.map(Number)]));
      assert.deepEqual(dims['W0'], gemm ? [20, 16] : [16, 20]);
      assert.deepEqual(dims['W1'], gemm ? [15, 20] : [20, 15]);
      assert.deepEqual(dims['W2'], gemm ? [4, 15] : [15, 4]);
      assert.deepEqual(dims['B0'], [20]);
      const x = randomSet(8, 16).rows.flatMap((r) => Array.from(r));
      const y = await run(r.model, Float32Array.from(x), [8, 16]);
      assert.equal(y.length, 32, 'the pruned model runs and keeps its output shape');
      // Sparsity 0 keeps everything: identical outputs.
      const same = await run(pruneStructured(m, 0).model, Float32Array.from(x), [8, 16]);
      assert.deepEqual(same, await run(m, Float32Array.from(x), [8, 16]));
    });
  }

  it('ranks neurons by the product of incoming and outgoing norms', () => {
    const keep = neuronsToKeep(Float64Array.from([1, 100, 4, 9]), Float64Array.from([100, 0, 4, 1]), 2);
    assert.deepEqual(keep, [0, 2]);
  });
});

describe('pruning sweep', () => {
  it('parses ranges and lists', () => {
    assert.deepEqual(parseSparsities('0.1:0.5:0.2'), [0.1, 0.3, 0.5]);
    assert.deepEqual(parseSparsities('0.2,0.6'), [0.2, 0.6]);
    assert.throws(() => parseSparsities('0.5,1.2'), /\[0, 1\)/);
  });

  it('chooses the highest sparsity within the budget and reports every point', async () => {
    const m = buildMlp([32, 64, 10]);
    const set = randomSet(64, 32);
    const r = await sweepPruning(m, set, { method: 'unstructured', sparsities: [0, 0.3, 0.6, 0.95], budget: 0.05 });
    assert.equal(r.points.length, 4);
    assert.equal(r.points[0]!.loss, 0);
    const within = r.points.filter((p) => p.withinBudget).map((p) => p.sparsity);
    assert.equal(r.chosen?.point.sparsity, Math.max(...within));
    assert.ok(r.points[3]!.loss > r.points[0]!.loss, '95% sparsity costs accuracy');
    const none = await sweepPruning(m, set, { method: 'structured', sparsities: [0.9], budget: 0 });
    assert.equal(none.chosen, undefined);
  });
});
