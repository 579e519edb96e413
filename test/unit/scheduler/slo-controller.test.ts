import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  admitUnderSlo,
  estimateExecMs,
  initialSloState,
  MIN_HEADROOM,
  observeExecution,
  observeLatencies,
  percentile,
  planSlo,
  type SloState,
} from '../../../src/scheduler/slo-controller.js';

/** A linear cost model: fixed overhead plus a per-row cost (ms). */
const costArb = fc.record({
  a: fc.double({ min: 0.1, max: 20, noNaN: true }),
  c: fc.double({ min: 0.01, max: 5, noNaN: true }),
});
const exec = (cost: { a: number; c: number }, b: number) => cost.a + cost.c * b;

function measured(cost: { a: number; c: number }, sizes: number[], headroom: number): SloState {
  let s = initialSloState();
  for (const b of sizes) s = observeExecution(s, b, exec(cost, b));
  return { ...s, headroom };
}

test('percentile is nearest-rank', () => {
  assert.equal(percentile([], 0.99), 0);
  assert.equal(percentile([3, 1, 2], 0.5), 2);
  assert.equal(percentile([...Array(100).keys()], 0.99), 98);
});

test('estimates: exact where measured and on a line between measurements, never below the smallest', () => {
  const m = { 2: 4, 8: 10 };
  assert.equal(estimateExecMs({}, 3), undefined);
  assert.equal(estimateExecMs(m, 2), 4);
  assert.equal(estimateExecMs(m, 5), 7);
  assert.equal(estimateExecMs(m, 1), 4);
  assert.equal(estimateExecMs(m, 14), 16);
  assert.equal(estimateExecMs({ 4: 8 }, 16), 16);
});

test('nothing measured: the cap is the model max with no delay, so real sizes get measured', () => {
  assert.deepEqual(planSlo(initialSloState(), { p99Ms: 50, windowRequests: 100 }, 32), {
    maxBatchSize: 32,
    maxQueueDelayMs: 0,
    execMs: 0,
  });
});

test('property: the plan fits the budget and has the best throughput among sizes that fit', () => {
  fc.assert(
    fc.property(
      costArb,
      fc.uniqueArray(fc.integer({ min: 1, max: 64 }), { minLength: 1, maxLength: 6 }),
      fc.double({ min: 1, max: 300, noNaN: true }),
      fc.double({ min: MIN_HEADROOM, max: 1, noNaN: true }),
      fc.integer({ min: 1, max: 64 }),
      (cost, sizes, p99Ms, headroom, max) => {
        const state = measured(cost, sizes, headroom);
        const objective = { p99Ms, windowRequests: 100 };
        const plan = planSlo(state, objective, max);
        const budget = p99Ms * headroom;
        const e = (b: number) => estimateExecMs(state.execMs, b)!;
        const limit = Math.min(max, 2 * Math.max(...sizes));
        const fits = Array.from({ length: limit }, (_, i) => i + 1).filter((b) => 2 * e(b) <= budget);
        assert.ok(plan.maxBatchSize >= 1 && plan.maxBatchSize <= max);
        assert.ok(plan.maxQueueDelayMs >= 0);
        if (fits.length === 0) {
          assert.equal(plan.maxBatchSize, 1);
          assert.equal(plan.maxQueueDelayMs, 0);
          return;
        }
        assert.ok(plan.maxQueueDelayMs + 2 * e(plan.maxBatchSize) <= budget + 1e-9);
        const best = plan.maxBatchSize / e(plan.maxBatchSize);
        for (const b of fits) assert.ok(b / e(b) <= best + 1e-9, `size ${b} has better throughput`);
      },
    ),
  );
});

test('property: shedding hits the lowest priority first and never refuses an idle server that fits', () => {
  fc.assert(
    fc.property(
      fc.record({
        maxBatchSize: fc.integer({ min: 1, max: 32 }),
        maxQueueDelayMs: fc.constant(0),
        execMs: fc.double({ min: 0.1, max: 50, noNaN: true }),
      }),
      fc.double({ min: 1, max: 500, noNaN: true }),
      fc.nat(500),
      fc.nat(500),
      fc.integer({ min: 1, max: 4 }),
      fc.integer({ min: 1, max: 4 }),
      (plan, p99Ms, u1, u2, bs, instances) => {
        const objective = { p99Ms, windowRequests: 100 };
        const [fewer, more] = u1 <= u2 ? [u1, u2] : [u2, u1];
        // A higher level has less queued work ahead of it (only its own level and above).
        if (admitUnderSlo(plan, objective, more, bs, instances))
          assert.ok(admitUnderSlo(plan, objective, fewer, bs, instances));
        // Nothing ahead: always admitted, whatever the estimate (it must be able to recover).
        assert.ok(admitUnderSlo(plan, objective, 0, bs, instances));
      },
    ),
  );
});

test('a pessimistic estimate never sheds a request with nothing ahead of it', () => {
  const plan = { maxBatchSize: 4, maxQueueDelayMs: 0, execMs: 1000 };
  const objective = { p99Ms: 50, windowRequests: 100 };
  assert.ok(admitUnderSlo(plan, objective, 0, 1, 1));
  assert.ok(!admitUnderSlo(plan, objective, 3, 1, 1));
});

test('property: headroom stays in range, shrinks on misses, grows back with margin', () => {
  fc.assert(
    fc.property(
      fc.array(fc.array(fc.double({ min: 0, max: 200, noNaN: true }), { minLength: 1, maxLength: 20 }), {
        maxLength: 40,
      }),
      fc.double({ min: 1, max: 100, noNaN: true }),
      fc.integer({ min: 1, max: 50 }),
      (batches, p99Ms, windowRequests) => {
        const objective = { p99Ms, windowRequests };
        let s = initialSloState();
        for (const ms of batches) {
          const before = s.headroom;
          s = observeLatencies(s, ms, objective);
          assert.ok(s.headroom >= MIN_HEADROOM && s.headroom <= 1);
          assert.ok(s.latencies.length <= windowRequests);
          if (ms.every((x) => x > p99Ms) && s.latencies.every((x) => x > p99Ms)) assert.ok(s.headroom <= before);
          if (s.latencies.every((x) => x < 0.7 * p99Ms)) assert.ok(s.headroom >= before);
        }
      },
    ),
  );
});

test('property: closed loop under saturation converges to the largest batch that holds the objective', () => {
  fc.assert(
    fc.property(
      costArb,
      fc.double({ min: 5, max: 400, noNaN: true }),
      fc.integer({ min: 1, max: 128 }),
      (cost, p99Ms, max) => {
        const objective = { p99Ms, windowRequests: 40 };
        let s = initialSloState();
        let plan = planSlo(s, objective, max);
        for (let round = 0; round < 300; round++) {
          // Saturated: every batch runs full at the cap; the worst request waited for one batch.
          const e = exec(cost, plan.maxBatchSize);
          s = observeExecution(s, plan.maxBatchSize, e);
          s = observeLatencies(s, Array(plan.maxBatchSize).fill(plan.maxQueueDelayMs + 2 * e), objective);
          plan = planSlo(s, objective, max);
        }
        const cap = plan.maxBatchSize;
        if (2 * exec(cost, 1) > p99Ms * MIN_HEADROOM) return; // objective out of reach: covered by shedding
        assert.ok(2 * exec(cost, cap) <= p99Ms, 'converged plan misses the objective');
        // Linear cost: throughput grows with b, so the next size up must not fit the planned budget.
        if (cap < max) assert.ok(2 * exec(cost, cap + 1) > p99Ms * s.headroom - 1e-9, `cap ${cap} is not the largest`);
      },
    ),
  );
});
