import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { LatencyHistogram } from '../../../src/loadgen/histogram.js';

function exactQuantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

test('quantiles are within the bucket precision of the exact nearest-rank values', () => {
  fc.assert(
    fc.property(
      fc.array(fc.double({ min: 0.001, max: 60_000, noNaN: true }), { minLength: 1, maxLength: 400 }),
      (xs) => {
        const h = new LatencyHistogram();
        for (const x of xs) h.record(x);
        const sorted = [...xs].sort((a, b) => a - b);
        for (const q of [0, 0.5, 0.9, 0.99, 0.999, 1]) {
          const want = exactQuantile(sorted, q);
          const got = h.quantile(q);
          assert.ok(Math.abs(got - want) <= want * 0.011 + 1e-3, `q=${q}: ${got} vs ${want}`);
        }
      },
    ),
  );
});

test('count, mean, min and max are exact', () => {
  const h = new LatencyHistogram();
  for (const x of [1, 2, 3, 10]) h.record(x);
  assert.equal(h.count, 4);
  assert.equal(h.mean(), 4);
  assert.equal(h.quantile(0), 1);
  assert.equal(h.quantile(1), 10);
});

test('an empty histogram answers NaN', () => {
  const h = new LatencyHistogram();
  assert.ok(Number.isNaN(h.quantile(0.5)));
  assert.ok(Number.isNaN(h.mean()));
});

test('merging equals recording everything in one histogram, also through plain data', () => {
  const a = new LatencyHistogram();
  const b = new LatencyHistogram();
  const all = new LatencyHistogram();
  for (let i = 1; i <= 500; i++) {
    (i % 3 === 0 ? a : b).record(i / 7);
    all.record(i / 7);
  }
  const merged = new LatencyHistogram(JSON.parse(JSON.stringify(a.toData())));
  merged.merge(b);
  const { sumMs: s1, ...m } = merged.toData();
  const { sumMs: s2, ...w } = all.toData();
  assert.deepEqual(m, w);
  assert.ok(Math.abs(s1 - s2) < 1e-6);
});

test('countAtOrBelow counts samples under a bound', () => {
  const h = new LatencyHistogram();
  for (let i = 1; i <= 100; i++) h.record(i);
  assert.equal(h.countAtOrBelow(1000), 100);
  const n = h.countAtOrBelow(50);
  assert.ok(n >= 50 && n <= 51, String(n));
  assert.equal(h.countAtOrBelow(0), 0);
});
