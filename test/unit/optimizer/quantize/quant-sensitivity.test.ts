import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cpuInfo } from '../../../../src/optimizer/measure/cpu.js';
import type { ValidationSet } from '../../../../src/optimizer/data/validation-set.js';
import { parseKeepFloat } from '../../../../src/optimizer/quantize/sensitivity.js';
import { quantizeStatic } from '../../../../src/optimizer/quantize/static.js';
import { buildConvNet, rng } from '../models.js';

const reduceRange = cpuInfo().reduceRangeDefault;

function rowsOf(n: number, len: number, seed = 5): Float32Array[] {
  const next = rng(seed);
  return Array.from({ length: n }, () => Float32Array.from({ length: len }, () => next()));
}

describe('mixed-precision static int8', () => {
  const set: ValidationSet = { input: 'x', rowShape: [1, 8, 8], rows: rowsOf(16, 64) };
  const minmax = { method: 'minmax' as const };
  const weightOf = (m: Awaited<ReturnType<typeof quantizeStatic>>['model'], name: string) =>
    m.graph!.node.find((n) => n.name === name)!.input[1];

  it('keeps the first and last quantizable nodes in float with --keep-float first,last', async () => {
    const r = await quantizeStatic(buildConvNet(), set, {
      calibration: minmax,
      reduceRange,
      keepFloat: ['first', 'last'],
    });
    assert.deepEqual(
      r.keptFloat.map((k) => k.node),
      ['conv1', 'fc'],
    );
    assert.deepEqual(r.quantized, ['conv2']);
    assert.deepEqual(r.sensitivity, [], 'no sensitivity pass without --auto-exclude');
    assert.equal(weightOf(r.model, 'conv1'), 'c1_w', 'conv1 reads its float weight');
    assert.equal(weightOf(r.model, 'fc'), 'fc_w', 'fc reads its float weight');
    assert.notEqual(weightOf(r.model, 'conv2'), 'c2_w', 'conv2 reads a dequantized int8 weight');
    assert.ok(r.skipped.some((s) => s.node === 'conv1' && /kept in float/.test(s.reason)));
    assert.ok(r.notes.some((n) => /kept in float \(mixed precision\): conv1/.test(n)));
  });

  it('ranks nodes by sensitivity and keeps the worst float with --auto-exclude', async () => {
    const r = await quantizeStatic(buildConvNet(), set, { calibration: minmax, reduceRange, autoExclude: 1 });
    assert.deepEqual(r.sensitivity.map((s) => s.node).sort(), ['conv1', 'conv2', 'fc']);
    for (let i = 1; i < r.sensitivity.length; i++) assert.ok(r.sensitivity[i - 1]!.error >= r.sensitivity[i]!.error);
    assert.deepEqual(
      r.keptFloat.map((k) => k.node),
      [r.sensitivity[0]!.node],
    );
    assert.match(r.keptFloat[0]!.reason, /sensitivity/);
    assert.equal(r.quantized.length, 2);
    assert.ok(!r.quantized.includes(r.sensitivity[0]!.node));
  });

  it('keeps nothing float when the fully quantized model is already within the error budget', async () => {
    const r = await quantizeStatic(buildConvNet(), set, {
      calibration: minmax,
      reduceRange,
      autoExclude: 2,
      errorBudget: 1,
    });
    assert.equal(r.sensitivity.length, 3);
    assert.deepEqual(r.keptFloat, []);
    assert.deepEqual(r.quantized, ['conv1', 'conv2', 'fc']);
  });

  it('rejects unknown --keep-float positions', () => {
    assert.deepEqual(parseKeepFloat(['first', 'last']), ['first', 'last']);
    assert.throws(() => parseKeepFloat(['middle']), /--keep-float "middle"/);
  });
});
