/** The digits dataset split and the trained model, checked through onnxruntime. */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { before, describe, it } from 'node:test';
import ort from 'onnxruntime-node';
import { heldOutDigits, trainingDigits } from '../../../examples/digits/dataset.js';
import { DIGITS_INPUT, DIGITS_OUTPUT } from '../../../examples/digits/export.js';
import { buildExamples } from '../../../scripts/build-examples.js';
import { DIGITS_MODEL_PATH } from '../../../scripts/train-digits.js';

before(async () => {
  if (!existsSync(DIGITS_MODEL_PATH)) await buildExamples(false, () => {});
});

describe('digits dataset', () => {
  it('holds out 1,000 digits, 100 per class, disjoint from the training digits', () => {
    const held = heldOutDigits();
    assert.equal(held.length, 1000);
    for (let c = 0; c < 10; c++) assert.equal(held.filter((d) => d.label === c).length, 100);
    const key = (p: Float32Array) => Buffer.from(p.buffer, p.byteOffset, p.byteLength).toString('base64');
    const heldKeys = new Set(held.map((d) => key(d.pixels)));
    const train = trainingDigits();
    assert.ok(train.length >= 8000);
    const shared = train.filter((d) => heldKeys.has(key(d.pixels))).length;
    assert.equal(shared, 0, 'training images also appear in the held-out set');
    for (const d of held) assert.equal(d.pixels.length, 784);
  });
});

describe('digits model', () => {
  it('classifies ≥ 95 % of the held-out digits through onnxruntime', async () => {
    const held = heldOutDigits();
    const x = new Float32Array(held.length * 784);
    for (const [i, d] of held.entries()) x.set(d.pixels, i * 784);
    const s = await ort.InferenceSession.create(DIGITS_MODEL_PATH);
    assert.deepEqual(s.inputNames, [DIGITS_INPUT]);
    assert.deepEqual(s.outputNames, [DIGITS_OUTPUT]);
    const out = await s.run({ [DIGITS_INPUT]: new ort.Tensor('float32', x, [held.length, 784]) });
    await s.release();
    const p = out[DIGITS_OUTPUT]!.data as Float32Array;
    let correct = 0;
    held.forEach((d, i) => {
      const row = p.subarray(i * 10, i * 10 + 10);
      if (row.indexOf(Math.max(...row)) === d.label) correct++;
    });
    assert.ok(correct / held.length >= 0.95, `accuracy ${correct / held.length}`);
  });
});
