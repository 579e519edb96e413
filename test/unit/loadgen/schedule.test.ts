import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  ArrivalSchedule,
  burstyRate,
  constantRate,
  exponentialGapMs,
  phaseAt,
  type Rng,
  seededRng,
} from '../../../src/loadgen/schedule.js';

test('the seeded generator is deterministic and stays in [0, 1)', () => {
  const a = seededRng(42);
  const b = seededRng(42);
  for (let i = 0; i < 1000; i++) {
    const x = a();
    assert.equal(x, b());
    assert.ok(x >= 0 && x < 1);
  }
  assert.notEqual(seededRng(1)(), seededRng(2)());
});

test('exponential gaps follow the inverse CDF', () => {
  assert.equal(exponentialGapMs(100, 0), 0);
  assert.ok(Math.abs(exponentialGapMs(100, 1 - Math.exp(-1)) - 10) < 1e-9);
  assert.ok(Number.isFinite(exponentialGapMs(1, 0.999999999)));
});

test('a constant-rate schedule is increasing with the expected mean gap', () => {
  const s = new ArrivalSchedule(constantRate(1000), seededRng(3));
  let prev = 0;
  const n = 20_000;
  let last = 0;
  for (let i = 0; i < n; i++) {
    last = s.next();
    assert.ok(last > prev || (i === 0 && last >= 0));
    prev = last;
  }
  // Mean gap 1 ms; 20k draws put the sample mean well within 5 %.
  assert.ok(Math.abs(last / n - 1) < 0.05, String(last / n));
});

test('a scripted random source gives exact arrival times', () => {
  const draws = [1 - Math.exp(-1), 1 - Math.exp(-2)];
  const rng: Rng = () => draws.shift()!;
  const s = new ArrivalSchedule(constantRate(10), rng);
  assert.ok(Math.abs(s.next() - 100) < 1e-9);
  assert.ok(Math.abs(s.next() - 300) < 1e-9);
});

test('a bursty profile restarts gaps at phase boundaries and labels arrivals', () => {
  const profile = burstyRate(100, 1000, 1000);
  assert.deepEqual(phaseAt(profile, 0), { index: 0, endMs: 1000 });
  assert.deepEqual(phaseAt(profile, 1500), { index: 1, endMs: 2000 });
  assert.deepEqual(phaseAt(profile, 2500), { index: 0, endMs: 3000 });
  const s = new ArrivalSchedule(profile, seededRng(9));
  const counts = { calm: 0, burst: 0 } as Record<string, number>;
  for (let t = s.next(); t < 20_000; t = s.next()) counts[s.labelAt(t)]! += 1;
  // 10 calm seconds at 100/s, 10 burst seconds at 1000/s.
  assert.ok(counts.calm! > 800 && counts.calm! < 1200, JSON.stringify(counts));
  assert.ok(counts.burst! > 9000 && counts.burst! < 11000, JSON.stringify(counts));
});

test('a silent phase produces no arrivals inside it', () => {
  const s = new ArrivalSchedule(
    {
      phases: [
        { rate: 0, durationMs: 500 },
        { rate: 100, durationMs: 500 },
      ],
    },
    seededRng(5),
  );
  for (let i = 0; i < 200; i++) assert.ok(s.next() % 1000 >= 500);
  assert.throws(() => new ArrivalSchedule({ phases: [{ rate: 0, durationMs: 1 }] }, seededRng(1)));
});
