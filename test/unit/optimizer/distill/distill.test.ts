import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { describe, it } from 'node:test';
import { heldOutDigits, trainingDigits } from '../../../../examples/digits/dataset.js';
import { compareOnSet } from '../../../../src/optimizer/measure/evaluate.js';
import type { ValidationSet } from '../../../../src/optimizer/data/validation-set.js';
import { distill } from '../../../../src/optimizer/distill/distill.js';
import { distillRowGrad } from '../../../../src/optimizer/distill/loss.js';
import { loadModel } from '../../../../src/optimizer/model/io.js';
import { backward, forward, initMlp } from '../../../../src/optimizer/distill/mlp-student.js';
import { createSession } from '../../../../src/optimizer/measure/ort.js';

const TEACHER = 'examples/models/digits/1/model.onnx';

describe('student training math', () => {
  it('backward matches a finite-difference gradient', () => {
    const layers = initMlp([5, 4, 3], 3);
    const x = Float32Array.from([0.2, 0, 0.7, 0.1, 0.9, 0.5, 0.3, 0, 0.8, 0.4]);
    const t = Float32Array.from([1, -1, 0.5, 0, 2, -1]);
    const cfg = { temperature: 2, alpha: 0.6 };
    const loss = () => {
      const z = forward(layers, x, 2).at(-1)!;
      const dz = new Float32Array(6);
      return [0, 1].reduce((s, r) => s + distillRowGrad(z, r, 3, t, r, cfg, 2, dz), 0) / 2;
    };
    const acts = forward(layers, x, 2);
    const dz = new Float32Array(6);
    for (const r of [0, 1]) distillRowGrad(acts.at(-1)!, r, 3, t, r, cfg, 2, dz);
    const g = backward(layers, acts, dz, 2);
    for (const [l, i] of [
      [0, 3],
      [1, 5],
    ] as const) {
      const w = layers[l]!.w;
      const keep = w[i]!;
      w[i] = keep + 1e-3;
      const up = loss();
      w[i] = keep - 1e-3;
      const down = loss();
      w[i] = keep;
      assert.ok(Math.abs((up - down) / 2e-3 - g[l]!.w[i]!) < 2e-3, `layer ${l} weight ${i}`);
    }
  });
});

describe('distillation on the mnist digits', { skip: !existsSync(TEACHER) && 'run scripts/build-examples.ts' }, () => {
  it('trains a distilled student and a hard-label baseline that both beat chance, exported as ONNX', async () => {
    const train = trainingDigits();
    // 1,200 transfer digits, labels on 150 of them: the case distillation is for.
    const pick = Array.from({ length: 1200 }, (_, i) => train[i * 7]!);
    const transfer: ValidationSet = {
      input: 'input',
      rowShape: [784],
      rows: pick.map((d) => d.pixels),
      labels: pick.map((d, i) => (i % 8 === 0 ? d.label : -1)),
    };
    const teacher = loadModel(TEACHER).model;
    const r = await distill(teacher, transfer, {
      hidden: [24],
      epochs: 4,
      batchSize: 64,
      lr: 3e-3,
      seed: 1,
      temperature: 4,
      alpha: 0.7,
    });
    assert.equal(r.labelledRows, 150);
    assert.equal(r.baselineLabels, 'given labels');
    const held = heldOutDigits().filter((_, i) => i % 2 === 0);
    const val: ValidationSet = {
      input: 'input',
      rowShape: [784],
      rows: held.map((d) => d.pixels),
      labels: held.map((d) => d.label),
    };
    const t = await createSession(teacher);
    const top1 = async (m: typeof teacher) => {
      const s = await createSession(m);
      const a = await compareOnSet(t, s, val);
      await s.release();
      return a.top1!;
    };
    const [sd, sb] = [await top1(r.student), await top1(r.baseline)];
    await t.release();
    assert.ok(sd > 0.7 && sb > 0.5, `distilled ${sd}, baseline ${sb}`);
    assert.ok(sd > sb, 'with 150 labels and 1,050 teacher-labelled rows the distilled student wins');
    const out = r.student.graph!;
    assert.equal(out.output[0]!.name, 'probabilities', "the student keeps the teacher's output name");
    assert.equal(out.node.at(-1)!.opType, 'Softmax', 'and outputs probabilities like the teacher');
  });
});
