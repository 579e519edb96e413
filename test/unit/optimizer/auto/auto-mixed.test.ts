import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { autoOptimize } from '../../../../src/optimizer/auto/auto.js';
import { mixedFloatLimit } from '../../../../src/optimizer/auto/mixed.js';
import { selectVariant } from '../../../../src/optimizer/auto/select.js';
import type { ValidationSet } from '../../../../src/optimizer/data/validation-set.js';
import { buildMlp, randomWeights, rng } from '../models.js';

// An MLP whose first layer cannot take an 8-bit input: feature 0 spans ±300 while the other 31 lie in
// [0, 1] and carry the signal (row 0 of W0 is scaled down 1000x), so one uint8 scale for x wipes them
// out. The second layer quantizes fine: keeping fc0 float is the whole fix.
function outlierMlp() {
  const next = rng(3);
  const w0 = randomWeights(32, 64, next);
  for (let j = 0; j < 64; j++) w0[j] = w0[j]! * 1e-3;
  const b0 = Float32Array.from({ length: 64 }, () => (next() - 0.5) * 0.1);
  const w1 = randomWeights(64, 10, next);
  const b1 = Float32Array.from({ length: 10 }, () => (next() - 0.5) * 0.1);
  return buildMlp([32, 64, 10], { weights: [w0, b0, w1, b1] });
}

function outlierRows(n: number, seed: number): ValidationSet {
  const next = rng(seed);
  const row = () => Float32Array.from({ length: 32 }, (_, j) => (j === 0 ? (next() * 2 - 1) * 300 : next()));
  return { input: 'x', rowShape: [32], rows: Array.from({ length: n }, row) };
}

describe('optimize auto: mixed-precision static int8 candidate', () => {
  it('keeps about a quarter of the quantizable nodes float, at most the limit, never all', () => {
    assert.equal(mixedFloatLimit(1, 3), 0);
    assert.equal(mixedFloatLimit(2, 3), 1);
    assert.equal(mixedFloatLimit(3, 3), 1);
    assert.equal(mixedFloatLimit(8, 3), 2);
    assert.equal(mixedFloatLimit(40, 3), 3);
    assert.equal(mixedFloatLimit(40, 0), 0);
  });

  it('is built, measured, and chosen over plain static int8 that misses the budget', async () => {
    const budget = 0.05;
    const r = await autoOptimize('outlier', outlierMlp(), {
      calib: outlierRows(64, 1),
      val: outlierRows(64, 2),
      reduceRange: true,
      batches: [1, 8],
      rounds: 1,
      target: 'cpu',
      budget,
    });
    const verdict = (name: string) => r.selection.verdicts.find((v) => v.name === name);
    const mixed = r.selection.verdicts.find((v) => v.name.startsWith('int8 static mixed'));
    assert.ok(mixed, `measured: ${r.selection.verdicts.map((v) => v.name).join(', ')}`);
    assert.equal(mixed.name, 'int8 static mixed (minmax, 1 float)');
    assert.ok(mixed.withinBudget, `mixed loss ${mixed.loss}`);
    for (const m of ['minmax', 'percentile', 'entropy']) {
      const plain = verdict(`int8 static (${m})`)!;
      assert.ok(!plain.withinBudget && plain.loss > 10 * mixed.loss, `${plain.name} loss ${plain.loss}`);
    }
    // The report row and the lineage parameters say what was kept float and why.
    const row = r.report.variants.find((v) => v.name === mixed.name)!;
    assert.ok(row.notes?.some((n) => /kept in float \(mixed precision\): fc0 \(sensitivity/.test(n)));
    assert.ok(row.fusion, 'fused kernels listed');
    const cand = r.candidates.find((c) => c.name === mixed.name)!;
    assert.equal(cand.transform, 'quantize-static');
    const mp = cand.parameters['mixedPrecision'] as {
      autoExclude: number;
      errorBudget: number;
      keptFloat: { node: string }[];
    };
    assert.deepEqual(
      { autoExclude: mp.autoExclude, errorBudget: mp.errorBudget, kept: mp.keptFloat.map((k) => k.node) },
      { autoExclude: 1, errorBudget: budget, kept: ['fc0'] },
    );
    // Among the int8 variants (measured numbers as they came), the budget leaves only the mixed one.
    const int8 = new Set(r.candidates.filter((c) => c.transform === 'quantize-static').map((c) => c.name));
    const sub = { ...r.report, variants: r.report.variants.filter((v, i) => i === 0 || int8.has(v.name)) };
    const models = new Map(r.candidates.map((c) => [c.name, c.model]));
    const pick = selectVariant(sub, models, budget, 'cpu');
    assert.equal(pick.chosen?.name, mixed.name, pick.reason);
    // And over every variant, whatever is chosen is within the budget and the fastest that is.
    assert.ok(r.selection.chosen!.withinBudget);
    const fastest = Math.max(...r.selection.verdicts.filter((v) => v.withinBudget).map((v) => v.speedup));
    assert.equal(r.selection.chosen!.speedup, fastest);
  });

  it('adds no duplicate when plain static int8 already meets the budget', async () => {
    const plain = (n: number, seed: number): ValidationSet => {
      const next = rng(seed);
      return {
        input: 'x',
        rowShape: [32],
        rows: Array.from({ length: n }, () => Float32Array.from({ length: 32 }, next)),
      };
    };
    const r = await autoOptimize('mlp', buildMlp([32, 64, 10]), {
      calib: plain(32, 3),
      val: plain(32, 4),
      reduceRange: true,
      batches: [1],
      rounds: 1,
      target: 'cpu',
      budget: 0.5,
    });
    const skip = r.skipped.find((s) => s.name === 'int8 static mixed');
    assert.match(skip?.reason ?? '', /already within the budget/);
    assert.ok(!r.report.variants.some((v) => v.name.startsWith('int8 static mixed')));
  });
});
