import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseBudget } from '../../../../src/optimizer/measure/accuracy-budget.js';
import { autoOptimize, NothingFitsError } from '../../../../src/optimizer/auto/auto.js';
import type { ValidationSet } from '../../../../src/optimizer/data/validation-set.js';
import { buildMlp, rng } from '../models.js';

function randomSet(n: number, k: number, seed: number): ValidationSet {
  const next = rng(seed);
  return { input: 'x', rowShape: [k], rows: Array.from({ length: n }, () => Float32Array.from({ length: k }, next)) };
}

describe('optimize auto', () => {
  const model = buildMlp([32, 64, 10]);
  const base = {
    calib: randomSet(32, 32, 1),
    val: randomSet(48, 32, 2),
    reduceRange: true,
    batches: [1, 8],
    rounds: 1,
  };

  it('parses budgets', () => {
    assert.equal(parseBudget('0.5%'), 0.005);
    assert.equal(parseBudget('0.01'), 0.01);
    assert.throws(() => parseBudget('half'), /expected e\.g\. 0\.5%/);
  });

  it('measures every applicable variant and picks per target', async () => {
    const cpu = await autoOptimize('mlp', model, { ...base, target: 'cpu', budget: 0.05 });
    const names = cpu.report.variants.map((v) => v.name);
    for (const n of ['int8 dynamic', 'int8 static (minmax)', 'int8 static (entropy)', 'fp16', 'graph extended'])
      assert.ok(names.includes(n), `${n} tried`);
    assert.ok(cpu.selection.chosen!.withinBudget);
    const best = Math.max(...cpu.selection.verdicts.filter((v) => v.withinBudget).map((v) => v.speedup));
    assert.equal(cpu.selection.chosen!.speedup, best);
    const gpu = await autoOptimize('mlp', model, { ...base, target: 'gpu', budget: 0.05 });
    assert.equal(gpu.chosen?.name, 'fp16');
    assert.match(gpu.selection.reason, /GPU choice/);
    const edge = await autoOptimize('mlp', model, { ...base, target: 'edge', budget: 0.05 });
    const smallest = Math.min(...edge.selection.verdicts.filter((v) => v.withinBudget).map((v) => v.gzipBytes));
    assert.equal(edge.selection.chosen!.gzipBytes, smallest);
  });

  it('says what was tried and by how much each missed when nothing fits', async () => {
    const err = await autoOptimize('mlp', model, { ...base, target: 'cpu', budget: -1 }).catch((e: unknown) => e);
    assert.ok(err instanceof NothingFitsError);
    assert.match(err.message, /no variant meets the accuracy budget/);
    assert.match(err.message, /int8 dynamic: loss .* over the budget/);
    assert.match(err.message, /pruned structured: not tried \(no sparsity within budget/);
  });
});
