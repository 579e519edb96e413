// How a shadow's answer is compared with the primary's (src/rollout/compare.ts): top-1 for
// classifiers, a relative tolerance element-wise otherwise, BYTES by bytes, mismatched outputs
// as incomparable disagreements, and the cap on what is looked at per call.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DataType, Tensor } from '../../../src/core/index.js';
import { compareOutputs, INCOMPARABLE, isClassifier } from '../../../src/rollout/compare.js';

const t = (name: string, shape: number[], data: Tensor['data'], datatype: DataType = 'FP32'): Tensor => ({
  name,
  datatype,
  shape,
  data,
});

describe('compareOutputs', () => {
  it('treats a float output with last dim > 1 as class scores: top-1 per row', () => {
    assert.ok(isClassifier({ datatype: 'FP32', shape: [2, 3] }));
    assert.ok(!isClassifier({ datatype: 'FP32', shape: [2, 1] }));
    assert.ok(!isClassifier({ datatype: 'INT64', shape: [2, 3] }));
    const p = [t('p', [2, 3], new Float32Array([0.1, 0.7, 0.2, 0.5, 0.3, 0.2]))];
    const shifted = [t('p', [2, 3], new Float32Array([1.1, 1.7, 1.2, 1.5, 1.3, 1.2]))];
    const same = compareOutputs(p, shifted);
    assert.equal(same.disagree, false, 'same top-1, however far the scores');
    assert.ok(Math.abs(same.diff - 1) < 1e-6);
    const flipped = [t('p', [2, 3], new Float32Array([0.1, 0.7, 0.2, 0.3, 0.5, 0.2]))];
    assert.equal(compareOutputs(p, flipped).disagree, true, 'row 2 changed class');
  });

  it('compares other outputs element-wise within 1e-3 · max(1, |primary|)', () => {
    const p = [t('y', [3, 1], new Float32Array([0, 10, 1000]))];
    assert.equal(compareOutputs(p, [t('y', [3, 1], new Float32Array([0.0009, 10.009, 1000.9]))]).disagree, false);
    assert.equal(compareOutputs(p, [t('y', [3, 1], new Float32Array([0.0011, 10, 1000]))]).disagree, true);
    assert.equal(compareOutputs(p, [t('y', [3, 1], new Float32Array([0, 10, 1002]))]).disagree, true);
    const r = compareOutputs(p, [t('y', [3, 1], new Float32Array([1, 11, 1001]))]);
    assert.equal(r.outputs[0]!.maxAbs, 1);
    assert.equal(r.outputs[0]!.meanAbs, 1);
    // Integers, 64-bit integers, NaN against NaN.
    assert.equal(
      compareOutputs(
        [t('i', [2], new BigInt64Array([1n, 2n]), 'INT64')],
        [t('i', [2], new BigInt64Array([1n, 3n]), 'INT64')],
      ).disagree,
      true,
    );
    assert.equal(
      compareOutputs([t('n', [1], new Float32Array([Number.NaN]))], [t('n', [1], new Float32Array([Number.NaN]))])
        .disagree,
      false,
    );
    assert.equal(
      compareOutputs([t('n', [1], new Float32Array([1]))], [t('n', [1], new Float32Array([Number.NaN]))]).disagree,
      true,
    );
  });

  it('decodes FP16 bit patterns', () => {
    // 0x3c00 = 1.0, 0x3c02 = 1.00195 (beyond 1e-3), 0x4000 = 2.0
    const p = [t('h', [2, 1], new Uint16Array([0x3c00, 0x4000]), 'FP16')];
    assert.equal(compareOutputs(p, [t('h', [2, 1], new Uint16Array([0x3c00, 0x4000]), 'FP16')]).disagree, false);
    const r = compareOutputs(p, [t('h', [2, 1], new Uint16Array([0x3c02, 0x4000]), 'FP16')]);
    assert.equal(r.disagree, true);
    assert.ok(Math.abs(r.diff - 2 ** -9) < 1e-9);
  });

  it('compares BYTES by their bytes', () => {
    const e = new TextEncoder();
    const p = [t('s', [2], [e.encode('a'), e.encode('b')], 'BYTES')];
    assert.equal(compareOutputs(p, [t('s', [2], [e.encode('a'), e.encode('b')], 'BYTES')]).disagree, false);
    assert.equal(compareOutputs(p, [t('s', [2], [e.encode('a'), e.encode('c')], 'BYTES')]).disagree, true);
  });

  it('counts a missing, retyped or reshaped output as an incomparable disagreement', () => {
    const p = [t('y', [2, 1], new Float32Array([1, 2]))];
    for (const s of [
      [],
      [t('y', [1, 2], new Float32Array([1, 2]))],
      [t('y', [2, 1], new Float64Array([1, 2]), 'FP64')],
    ]) {
      const r = compareOutputs(p, s);
      assert.equal(r.disagree, true);
      assert.equal(r.diff, INCOMPARABLE);
      assert.equal(r.outputs[0]!.comparable, false);
    }
  });

  it('looks at no more than `cap` elements per output (whole rows for classifiers)', () => {
    const p = [t('y', [10, 1], new Float32Array(10))];
    const s = new Float32Array(10);
    s[9] = 5;
    assert.equal(compareOutputs(p, [t('y', [10, 1], s)], 9).disagree, false, 'the difference is past the cap');
    assert.equal(compareOutputs(p, [t('y', [10, 1], s)], 10).disagree, true);
    const scores = new Float32Array([1, 0, 1, 0, 1, 0]);
    const other = new Float32Array([1, 0, 1, 0, 0, 1]);
    assert.equal(compareOutputs([t('c', [3, 2], scores)], [t('c', [3, 2], other)], 5).disagree, false, '2 whole rows');
    assert.equal(compareOutputs([t('c', [3, 2], scores)], [t('c', [3, 2], other)], 6).disagree, true);
  });
});
