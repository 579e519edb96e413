import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  bestCap,
  candidateCaps,
  costPerRow,
  initialTuner,
  MIN_RUNS,
  observeRun,
  REEXPLORE_EVERY,
  TOLERANCE,
  type TunerState,
} from '../../../src/scheduler/batch-tuner.js';

/** Runs the tuner under saturation (every batch fills the cap) with ms per row given by `cost`. */
function saturated(state: TunerState, max: number, cost: (b: number) => number, runs: number): TunerState {
  let s = state;
  for (let i = 0; i < runs; i++) s = observeRun(s, max, s.cap, cost(s.cap) * s.cap);
  return s;
}

/** Runs needed for the first round: MIN_RUNS at each candidate. */
const firstRound = (max: number) => MIN_RUNS * candidateCaps(max).length;

test('candidates: powers of two below max, then max', () => {
  assert.deepEqual(candidateCaps(1), [1]);
  assert.deepEqual(candidateCaps(8), [1, 2, 4, 8]);
  assert.deepEqual(candidateCaps(6), [1, 2, 4, 6]);
  assert.deepEqual(candidateCaps(64), [1, 2, 4, 8, 16, 32, 64]);
});

test('the first round measures every candidate, largest first, then keeps the cheapest per row', () => {
  // The BERT-like shape: batches of 8 cost more per row than batches of 4.
  const perRow: Record<number, number> = { 1: 30, 2: 28, 4: 26, 8: 29 };
  let s = initialTuner(8);
  const seen: number[] = [];
  for (let i = 0; i < firstRound(8); i++) {
    if (seen.at(-1) !== s.cap) seen.push(s.cap);
    s = observeRun(s, 8, s.cap, perRow[s.cap]! * s.cap);
  }
  assert.deepEqual(seen, [8, 4, 2, 1]);
  assert.equal(s.cap, 4);
  assert.deepEqual(s.pending, []);
  assert.equal(costPerRow(s, 4), 26);
});

test('a smaller cap within the tolerance wins: same throughput, lower latency', () => {
  const perRow: Record<number, number> = { 1: 10, 2: 5 * (1 + TOLERANCE / 2), 4: 5, 8: 6 };
  assert.equal(saturated(initialTuner(8), 8, (b) => perRow[b]!, firstRound(8)).cap, 2);
});

test('batches smaller than the cap do not count as measuring it', () => {
  let s = initialTuner(8);
  for (let i = 0; i < 20; i++) s = observeRun(s, 8, 3, 30);
  assert.equal(s.cap, 8, 'still measuring the first candidate');
  assert.equal(s.measured, 0);
  assert.equal(s.runs[3]?.length, 12, 'runs of other sizes are still recorded (window-bounded)');
});

test('bad measurements are ignored', () => {
  const s = initialTuner(4);
  assert.equal(observeRun(s, 4, 4, Number.NaN), s);
  assert.equal(observeRun(s, 4, 4, -1), s);
  assert.equal(observeRun(s, 4, 0, 5), s);
  assert.equal(bestCap(s, 4), 4, 'nothing measured: the model max');
});

test('re-measures the neighbours of the cap and follows a cost that moved', () => {
  let costs: Record<number, number> = { 1: 30, 2: 28, 4: 26, 8: 29 };
  let s = saturated(initialTuner(8), 8, (b) => costs[b]!, firstRound(8));
  assert.equal(s.cap, 4);
  // The machine changed: now batches of 8 are the cheapest per row.
  costs = { 1: 30, 2: 28, 4: 26, 8: 20 };
  s = saturated(s, 8, (b) => costs[b]!, REEXPLORE_EVERY - 1);
  assert.equal(s.cap, 4, 'no exploration before REEXPLORE_EVERY executions');
  s = saturated(s, 8, (b) => costs[b]!, 1);
  assert.deepEqual(s.pending, [2, 8, 4], 'the neighbours, then the cap itself');
  s = saturated(s, 8, (b) => costs[b]!, 3 * MIN_RUNS);
  assert.equal(s.cap, 8);
});

test('property: after the first round the cap is the smallest candidate within tolerance of the cheapest', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 64 }),
      fc.array(fc.double({ min: 0.01, max: 100, noNaN: true }), { minLength: 7, maxLength: 7 }),
      (max, table) => {
        const caps = candidateCaps(max);
        const perRow = (b: number) => table[caps.indexOf(b)]!;
        const s = saturated(initialTuner(max), max, perRow, firstRound(max));
        const best = Math.min(...caps.map(perRow));
        const expected = caps.find((b) => perRow(b) <= best * (1 + TOLERANCE))!;
        assert.equal(s.cap, expected);
        assert.ok(s.cap >= 1 && s.cap <= max);
      },
    ),
  );
});

test('property: the cap is always a candidate, whatever sizes and times arrive', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 32 }),
      fc.array(fc.tuple(fc.integer({ min: 1, max: 32 }), fc.double({ min: 0, max: 1000, noNaN: true })), {
        maxLength: 300,
      }),
      (max, runs) => {
        let s = initialTuner(max);
        for (const [b, ms] of runs) {
          s = observeRun(s, max, Math.min(b, max), ms);
          assert.ok(candidateCaps(max).includes(s.cap));
        }
      },
    ),
  );
});
