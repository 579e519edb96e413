import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EventLoopDelay, loopDelaySeconds } from '../../../src/observability/system-readings.js';

describe('event-loop delay', () => {
  it('reports the delay beyond the sampling interval, not the interval itself', () => {
    assert.equal(loopDelaySeconds(10e6), 0); // timer ran on time: no delay
    assert.equal(loopDelaySeconds(9.2e6), 0); // early by jitter: still none, never negative
    assert.ok(Math.abs(loopDelaySeconds(24e6) - 0.014) < 1e-12); // 14 ms late
    assert.ok(Math.abs(loopDelaySeconds(7e6, 5) - 0.002) < 1e-12);
  });

  it('reads p50 ≤ p99 ≤ max in seconds and starts a new window on each read', async () => {
    const d = new EventLoopDelay();
    try {
      await new Promise((r) => setTimeout(r, 60));
      const first = d.read();
      assert.ok(first.p50 >= 0 && first.p50 <= first.p99 && first.p99 <= first.max);
      assert.deepEqual(d.read(), { p50: 0, p99: 0, max: 0 }, 'nothing sampled since the previous read');
    } finally {
      d.stop();
    }
  });
});
