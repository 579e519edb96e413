// Per-replica token buckets (reliability.md S18) on a hand clock: the refill arithmetic, the
// Retry-After contract, the memory bound, and properties over arbitrary schedules.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { MAX_RETRY_AFTER_MS, TokenBuckets } from '../../../src/auth/token-bucket.js';
import type { Clock } from '../../../src/core/clock.js';

class HandClock implements Clock {
  t = 1_000;
  now(): number {
    return this.t;
  }
  wallMs(): number {
    return 1_700_000_000_000 + this.t;
  }
  advance(ms: number): void {
    this.t += ms;
  }
}

function setup(maxKeys?: number) {
  const clock = new HandClock();
  return { clock, tb: new TokenBuckets(maxKeys === undefined ? { clock } : { clock, maxKeys }) };
}

describe('TokenBuckets', () => {
  it('admits a full burst at once, then refuses with the time until the next token', () => {
    const { clock, tb } = setup();
    const limit = { rate: 10, burst: 5 };
    for (let i = 0; i < 5; i++) assert.deepEqual(tb.take('p', limit), { ok: true });
    assert.deepEqual(tb.take('p', limit), { ok: false, retryAfterMs: 100 });
    clock.advance(40);
    assert.deepEqual(tb.take('p', limit), { ok: false, retryAfterMs: 60 });
    clock.advance(60);
    assert.deepEqual(tb.take('p', limit), { ok: true });
    assert.equal(tb.degraded(), false);
  });

  it('refills continuously and never beyond burst', () => {
    const { clock, tb } = setup();
    const limit = { rate: 100, burst: 3 };
    for (let i = 0; i < 3; i++) assert.equal(tb.take('p', limit).ok, true);
    clock.advance(15); // 1.5 tokens
    assert.equal(tb.take('p', limit).ok, true);
    assert.deepEqual(tb.take('p', limit), { ok: false, retryAfterMs: 5 });
    clock.advance(60_000);
    let admitted = 0;
    while (tb.take('p', limit).ok) admitted++;
    assert.equal(admitted, 3);
  });

  it('charges a cost and answers Retry-After for that cost, at least 1 ms', () => {
    const { clock, tb } = setup();
    const limit = { rate: 1000, burst: 10 };
    assert.equal(tb.take('p', limit, 10).ok, true);
    assert.deepEqual(tb.take('p', limit, 4), { ok: false, retryAfterMs: 4 });
    clock.advance(0.2); // 0.2 tokens: a cost of 0.5 is 0.3 ms away, rounded up to 1 ms
    assert.deepEqual(tb.take('p', limit, 0.5), { ok: false, retryAfterMs: 1 });
    assert.deepEqual(tb.take('p', limit, 0), { ok: true });
  });

  it('fails closed on a nonsense limit without throwing', () => {
    const { tb } = setup();
    assert.deepEqual(tb.take('p', { rate: 0, burst: 0 }), { ok: false, retryAfterMs: MAX_RETRY_AFTER_MS });
    assert.deepEqual(tb.take('q', { rate: Number.NaN, burst: 1 }), { ok: true });
    assert.deepEqual(tb.take('q', { rate: Number.NaN, burst: 1 }), { ok: false, retryAfterMs: MAX_RETRY_AFTER_MS });
  });

  it('follows a changed limit for an existing key', () => {
    const { tb } = setup();
    for (let i = 0; i < 10; i++) assert.equal(tb.take('p', { rate: 1, burst: 10 }).ok, true);
    assert.equal(tb.take('p', { rate: 1, burst: 20 }).ok, false, 'a larger burst does not mint tokens');
  });

  it('holds at most maxKeys buckets, dropping the least recently used', () => {
    const { tb } = setup(3);
    const limit = { rate: 1, burst: 2 };
    for (const k of ['a', 'b', 'c']) tb.take(k, limit);
    tb.take('a', limit); // a is now the most recent: b is the LRU one
    tb.take('d', limit);
    assert.equal(tb.size, 3);
    // a kept its debt (two takes of a burst of 2: empty), b was forgiven (a fresh, full bucket)
    assert.equal(tb.take('a', limit).ok, false);
    assert.equal(tb.take('b', limit).ok, true);
    for (let i = 0; i < 1000; i++) tb.take(`k${i}`, limit);
    assert.equal(tb.size, 3);
  });

  it('forgets buckets that have refilled, since a full bucket is no bucket', () => {
    const { clock, tb } = setup();
    const limit = { rate: 10, burst: 10 };
    for (let i = 0; i < 500; i++) tb.take(`k${i}`, limit);
    assert.equal(tb.size, 500);
    clock.advance(1_000); // every bucket is full again
    for (let i = 0; i < 300; i++) tb.take('busy', limit);
    assert.equal(tb.size, 1, 'idle full buckets are swept two per take');
    assert.equal(tb.take('busy', limit).ok, false);
    tb.take('busy', limit, 0);
    clock.advance(10_000);
    tb.take('x', limit, 0); // a zero-cost take on a full bucket stores nothing
    assert.equal(tb.size, 0);
  });

  it('close() drops every bucket', async () => {
    const { tb } = setup();
    tb.take('p', { rate: 1, burst: 1 });
    await tb.close();
    assert.equal(tb.size, 0);
  });
});

// Schedules: each step waits some ms (fractional) and then takes one of a few keys at some cost.
const limitArb = fc.record({
  rate: fc.double({ min: 0.1, max: 5_000, noNaN: true }),
  burst: fc.integer({ min: 1, max: 300 }),
});
const stepArb = fc.record({
  waitMs: fc.oneof(fc.constant(0), fc.double({ min: 0, max: 2_000, noNaN: true })),
  key: fc.constantFrom('a', 'b', 'c'),
  cost: fc.oneof(fc.constant(1), fc.integer({ min: 1, max: 5 }), fc.double({ min: 0.01, max: 3, noNaN: true })),
});

describe('TokenBuckets properties', () => {
  it('never admits more than burst + rate × elapsed per key', () => {
    fc.assert(
      fc.property(limitArb, fc.array(stepArb, { maxLength: 300 }), (limit, steps) => {
        const { clock, tb } = setup();
        const start = clock.now();
        const admitted = new Map<string, number>();
        for (const s of steps) {
          clock.advance(s.waitMs);
          if (tb.take(s.key, limit, s.cost).ok) admitted.set(s.key, (admitted.get(s.key) ?? 0) + s.cost);
          const bound = limit.burst + (limit.rate * (clock.now() - start)) / 1000;
          for (const total of admitted.values()) if (total > bound + 1e-6) return false;
        }
        return true;
      }),
      { numRuns: 300 },
    );
  });

  it('a refused caller that waits retryAfterMs is admitted, and one that waits 1 ms less is not', () => {
    fc.assert(
      fc.property(limitArb, fc.array(stepArb, { maxLength: 100 }), (limit, steps) => {
        const { clock, tb } = setup();
        for (const s of steps) {
          clock.advance(s.waitMs);
          const cost = Math.min(s.cost, limit.burst); // a cost above burst can never be admitted
          const r = tb.take(s.key, limit, cost);
          if (r.ok) continue;
          if (!(r.retryAfterMs >= 1)) return false;
          // The real wait lies in (retryAfterMs − 1, retryAfterMs]: just before it, still refused.
          const early = Math.max(0, r.retryAfterMs - 1.01);
          clock.advance(early);
          if (r.retryAfterMs > 1.01 && tb.take(s.key, limit, cost).ok) return false;
          clock.advance(r.retryAfterMs - early);
          if (!tb.take(s.key, limit, cost).ok) return false;
        }
        return true;
      }),
      { numRuns: 300 },
    );
  });

  it('keys are independent: a key answers the same with or without other keys interleaved', () => {
    fc.assert(
      fc.property(limitArb, fc.array(stepArb, { maxLength: 200 }), (limit, steps) => {
        const together = setup();
        const alone = setup();
        for (const s of steps) {
          together.clock.advance(s.waitMs);
          alone.clock.advance(s.waitMs);
          const r = together.tb.take(s.key, limit, s.cost);
          if (s.key !== 'a') continue;
          assert.deepEqual(alone.tb.take('a', limit, s.cost), r);
        }
      }),
      { numRuns: 300 },
    );
  });
});
