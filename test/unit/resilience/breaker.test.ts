// The circuit breaker's pure decisions and its applier, driven by a manual clock.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { BREAKER_DEFAULTS } from '../../../src/config/resilience.js';
import type { BreakerSpec } from '../../../src/core/model.js';
import { admission, type BreakerState, CircuitBreaker, judge } from '../../../src/resilience/breaker.js';
import { RetryBudget } from '../../../src/resilience/retry-budget.js';
import { SlidingCounts } from '../../../src/resilience/window.js';

const spec = (over: Partial<BreakerSpec> = {}): BreakerSpec => ({ ...BREAKER_DEFAULTS, ...over });

/** Runs one call through the breaker: true = success, false = failure; returns whether it was let through. */
function call(b: CircuitBreaker, now: number, ok: boolean): boolean {
  const t = b.admit(now);
  if ('refused' in t) return false;
  b.record(t, ok, now);
  return true;
}

describe('circuit breaker', () => {
  test('a window that sees no traffic stays closed and judges nothing (no division by zero)', () => {
    const closed = {
      state: 'closed' as const,
      epoch: 0,
      openedAt: 0,
      consecutiveFailures: 0,
      halfOpenSeen: 0,
      probeSuccesses: 0,
    };
    assert.equal(judge(closed, true, { calls: 0, failures: 0 }, spec({ consecutiveFailures: 100 })), undefined);
    assert.equal(judge(closed, false, { calls: 0, failures: 0 }, spec()), undefined);
    const b = new CircuitBreaker(spec());
    assert.deepEqual(b.admit(1e9), { epoch: 0, probe: false });
    assert.equal(b.state, 'closed');
  });

  test('opens after consecutive failures, refuses with the time left, then probes', () => {
    const seen: BreakerState[] = [];
    const b = new CircuitBreaker(spec({ consecutiveFailures: 3, openMs: 1000 }), (s) => seen.push(s));
    assert.ok(call(b, 0, false));
    assert.ok(call(b, 1, false));
    assert.equal(b.state, 'closed');
    assert.ok(call(b, 2, false));
    assert.equal(b.state, 'open');
    const refused = b.admit(502);
    assert.deepEqual(refused, { refused: true, retryAfterMs: 500 });
    const probe = b.admit(1002);
    assert.ok(!('refused' in probe) && probe.probe);
    assert.equal(b.state, 'half-open');
    assert.deepEqual(seen, ['open', 'half-open']);
  });

  test('a success resets the consecutive count', () => {
    const b = new CircuitBreaker(spec({ consecutiveFailures: 3, minimumCalls: 1000 }));
    for (let i = 0; i < 10; i++) {
      call(b, i, false);
      call(b, i, false);
      call(b, i, true);
    }
    assert.equal(b.state, 'closed');
  });

  test('opens on the failure rate only once the window holds the minimum number of calls', () => {
    const b = new CircuitBreaker(spec({ failureRate: 0.5, minimumCalls: 10, consecutiveFailures: 1000 }));
    for (let i = 0; i < 4; i++) {
      call(b, i, false);
      call(b, i, true);
    }
    assert.equal(b.state, 'closed', '8 calls: below the minimum');
    call(b, 5, true);
    call(b, 6, false);
    assert.equal(b.state, 'open', '10 calls, 5 failed');
  });

  test('old failures leave the window', () => {
    const b = new CircuitBreaker(
      spec({ failureRate: 0.5, minimumCalls: 4, consecutiveFailures: 1000, windowMs: 1000 }),
    );
    call(b, 0, false);
    call(b, 0, false);
    call(b, 0, false);
    // 2 s later the three failures are gone: 1 failure of 4 calls is under the rate.
    for (let i = 0; i < 3; i++) call(b, 2000, true);
    call(b, 2000, false);
    assert.equal(b.state, 'closed');
  });

  test('half-open lets a share of calls through; successes close it, a failure reopens it', () => {
    const b = new CircuitBreaker(
      spec({ consecutiveFailures: 1, openMs: 100, halfOpenShare: 0.25, halfOpenSuccesses: 2 }),
    );
    call(b, 0, false);
    assert.equal(b.state, 'open');
    // The first call after the open period is a probe; then one in four.
    const through = [200, 201, 202, 203, 204, 205, 206, 207].map((t) => !('refused' in b.admit(t)));
    assert.deepEqual(through, [true, false, false, true, false, false, false, true]);
    // Probes that succeed close it.
    const c = new CircuitBreaker(spec({ consecutiveFailures: 1, openMs: 100, halfOpenShare: 1, halfOpenSuccesses: 2 }));
    call(c, 0, false);
    assert.ok(call(c, 200, true));
    assert.equal(c.state, 'half-open');
    assert.ok(call(c, 201, true));
    assert.equal(c.state, 'closed');
    // A probe that fails opens it again, from that moment.
    call(c, 300, false);
    assert.ok(call(c, 500, false));
    assert.equal(c.state, 'open');
    assert.deepEqual(c.admit(550), { refused: true, retryAfterMs: 50 });
  });

  test('an outcome from before a transition is ignored; neutral outcomes are not recorded', () => {
    const b = new CircuitBreaker(spec({ consecutiveFailures: 2, openMs: 100, halfOpenShare: 1, halfOpenSuccesses: 1 }));
    const early = b.admit(0);
    assert.ok(!('refused' in early));
    call(b, 1, false);
    call(b, 2, false);
    assert.equal(b.state, 'open');
    b.record(early, true, 3); // admitted while closed: says nothing about the open state
    assert.equal(b.state, 'open');
    const probe = b.admit(200);
    assert.ok(!('refused' in probe));
    b.record(probe, undefined, 201); // a client error: neither success nor failure
    assert.equal(b.state, 'half-open');
  });

  test('property: admission never lets a call through while open and before open_ms', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 50 }), fc.boolean()), { maxLength: 200 }), (steps) => {
        const s = spec({ consecutiveFailures: 2, openMs: 100, halfOpenShare: 0.5, minimumCalls: 3 });
        const b = new CircuitBreaker(s);
        let now = 0;
        let openedAt = -1;
        for (const [dt, ok] of steps) {
          now += dt;
          const before = b.state;
          const t = b.admit(now);
          if (before === 'open' && now < openedAt + s.openMs) assert.ok('refused' in t);
          if ('refused' in t) continue;
          b.record(t, ok, now);
          if (b.state === 'open' && before !== 'open') openedAt = now;
        }
      }),
    );
    assert.equal(
      admission(
        { state: 'open', epoch: 1, openedAt: 10, consecutiveFailures: 0, halfOpenSeen: 0, probeSuccesses: 0 },
        50,
        spec({ openMs: 100 }),
      ).kind,
      'refuse',
    );
  });
});

describe('sliding window and retry budget', () => {
  test('counts fall out of the window bucket by bucket', () => {
    const w = new SlidingCounts(1000, ['a']);
    w.add(0, 'a', 5);
    w.add(450, 'a', 2);
    assert.equal(w.sum(900, 'a'), 7);
    assert.equal(w.sum(1050, 'a'), 2);
    assert.equal(w.sum(1500, 'a'), 0);
    assert.equal(w.sum(10_000, 'a'), 0);
  });

  test('retries stay within 10% of first attempts per window, with a floor of 3', () => {
    const b = new RetryBudget();
    // No traffic yet: the floor allows 3.
    assert.deepEqual(
      [1, 2, 3, 4].map(() => b.tryRetry(0)),
      [true, true, true, false],
    );
    const c = new RetryBudget();
    for (let i = 0; i < 300; i++) c.first(i);
    let allowed = 0;
    for (let i = 0; i < 300; i++) if (c.tryRetry(300)) allowed++;
    assert.equal(allowed, 30);
    // A second later the window is fresh again.
    for (let i = 0; i < 100; i++) c.first(1500);
    let later = 0;
    for (let i = 0; i < 100; i++) if (c.tryRetry(1500)) later++;
    assert.equal(later, 10);
  });
});
