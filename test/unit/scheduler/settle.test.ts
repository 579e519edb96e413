import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import type { ExecResult } from '../../../src/backend/types.js';
import type { InferError } from '../../../src/core/index.js';
import { settleBatch } from '../../../src/scheduler/settle.js';
import { row } from './batch-fakes.js';

const timing = { inputNs: 1, inferNs: 2, outputNs: 3 };
const result = (rows: number): ExecResult => ({
  outputs: [{ name: 'y', datatype: 'FP32', shape: [rows, 1], data: Float32Array.from({ length: rows }, (_, i) => i) }],
  timing,
});

test('settleBatch hands each request its own rows, its queue time and the batch size it ran in', () => {
  const s = settleBatch(
    [
      { id: 7, batchSize: 1, enqueuedAt: 2 },
      { id: 9, batchSize: 2, enqueuedAt: 4 },
    ],
    result(3),
    10,
    15,
  );
  assert.deepEqual(s.failures, []);
  assert.deepEqual(
    s.answers.map((a) => [a.id, Array.from(a.result.outputs[0]!.data as Float32Array)]),
    [
      [7, [0]],
      [9, [1, 2]],
    ],
  );
  assert.deepEqual(
    s.answers.map((a) => [a.result.queueNs, a.result.executedBatchSize, a.result.timing]),
    [
      [8e6, 3, timing],
      [6e6, 3, timing],
    ],
  );
  assert.deepEqual(s.stats, { batchSize: 3, execMs: 5, latenciesMs: [13, 11] });
});

test('settleBatch: a batch of one gets the outputs as they are (no split, no copy)', () => {
  const r = result(1);
  const s = settleBatch([{ id: 0, batchSize: 1, enqueuedAt: 0 }], r, 0, 1);
  assert.equal(s.answers[0]!.result.outputs[0], r.outputs[0]);
});

test('settleBatch: outputs that do not split fail every request with IG_ERR_INTERNAL, with one fault to report', () => {
  const s = settleBatch(
    [
      { id: 1, batchSize: 1, enqueuedAt: 0 },
      { id: 2, batchSize: 1, enqueuedAt: 0 },
    ],
    { outputs: [row(9, 3)], timing },
    0,
    4,
  );
  assert.deepEqual(s.answers, []);
  assert.deepEqual(
    s.failures.map((f) => [f.id, (f.error as InferError).code]),
    [
      [1, 'IG_ERR_INTERNAL'],
      [2, 'IG_ERR_INTERNAL'],
    ],
  );
  assert.ok(s.fault instanceof Error);
  assert.equal(s.failures[0]!.error.cause, s.fault);
  // What ran still counts: the batch is measured even when its outputs are unusable.
  assert.deepEqual(s.stats, { batchSize: 2, execMs: 4, latenciesMs: [4, 4] });
});

test('property: settleBatch answers every request exactly once, rows in batch order', () => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 8 }), (sizes) => {
      const items = sizes.map((batchSize, id) => ({ id, batchSize, enqueuedAt: 0 }));
      const total = sizes.reduce((a, b) => a + b, 0);
      const s = settleBatch(items, result(total), 1, 2);
      const rows = s.answers.flatMap((a) => Array.from(a.result.outputs[0]!.data as Float32Array));
      return (
        s.failures.length === 0 &&
        s.answers.map((a) => a.id).join() === items.map((i) => i.id).join() &&
        rows.join() === Array.from({ length: total }, (_, i) => i).join()
      );
    }),
  );
});
