import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  DEFAULT_WATCHDOG,
  DurationWindow,
  MIN_SAMPLES,
  WINDOW_SIZE,
  watchdogBoundMs,
  watchdogSettings,
  watchdogVerdict,
} from '../../../src/backend/ort/watchdog.js';
import { DEFAULT_EXECUTION } from '../../../src/config/execution.js';
import { InferError } from '../../../src/core/index.js';

const execution = (parameters: Record<string, string>) => ({ ...DEFAULT_EXECUTION, parameters });

describe('watchdog: the p99 window', () => {
  it('has no p99 until it holds MIN_SAMPLES samples', () => {
    const w = new DurationWindow();
    assert.equal(w.p99(), undefined);
    for (let i = 0; i < MIN_SAMPLES - 1; i++) w.record(10);
    assert.equal(w.p99(), undefined);
    w.record(500);
    assert.equal(w.size, MIN_SAMPLES);
    assert.equal(w.p99(), 500, 'with 20 samples the nearest-rank p99 is the largest');
  });

  it('takes the nearest-rank p99 of the samples, whatever their order', () => {
    const w = new DurationWindow();
    const values = Array.from({ length: 200 }, (_, i) => i + 1).reverse();
    for (const v of values) w.record(v);
    assert.equal(w.p99(), 198);
    w.record(1000);
    assert.equal(w.p99(), 199, 'a new sample invalidates the cached p99');
  });

  it('keeps only the last WINDOW_SIZE samples', () => {
    const w = new DurationWindow();
    for (let i = 0; i < WINDOW_SIZE; i++) w.record(5000);
    assert.equal(w.p99(), 5000);
    for (let i = 0; i < WINDOW_SIZE; i++) w.record(10);
    assert.equal(w.size, WINDOW_SIZE);
    assert.equal(w.p99(), 10, 'old slow runs have left the window');
  });

  it('honours a custom capacity and minimum', () => {
    const w = new DurationWindow(4, 2);
    w.record(1);
    assert.equal(w.p99(), undefined);
    for (const v of [7, 3, 9, 2, 4]) w.record(v);
    assert.equal(w.p99(), 9, 'window is [3, 9, 2, 4]');
  });
});

describe('watchdog: the bound', () => {
  it('is the cold bound (default 30 s, else the floor) while there is no p99', () => {
    assert.equal(watchdogBoundMs(DEFAULT_WATCHDOG, undefined), 30_000);
    assert.equal(watchdogBoundMs({ factor: 5, floorMs: 300 }, undefined), 300);
    assert.equal(watchdogBoundMs({ factor: 5, floorMs: 300, coldMs: 100 }, undefined), 300, 'never under the floor');
  });

  it('is max(factor × p99, floor), rounded up to whole ms', () => {
    assert.equal(watchdogBoundMs(DEFAULT_WATCHDOG, 100), 1000, 'a fast model keeps the floor');
    assert.equal(watchdogBoundMs(DEFAULT_WATCHDOG, 700), 1400);
    assert.equal(watchdogBoundMs({ factor: 3, floorMs: 10 }, 33.4), 101);
    assert.equal(watchdogBoundMs({ factor: 1.5, floorMs: 1 }, 2), 3);
  });

  it('says hung at since + bound, else how long is left (injected time)', () => {
    const watch = { since: 1000, boundMs: 300 };
    assert.deepEqual(watchdogVerdict(watch, 1000), { hung: false, inMs: 300 });
    assert.deepEqual(watchdogVerdict(watch, 1299.5), { hung: false, inMs: 0.5 });
    assert.deepEqual(watchdogVerdict(watch, 1300), { hung: true });
    assert.deepEqual(watchdogVerdict(watch, 5000), { hung: true });
  });
});

describe('watchdog: settings from the model config', () => {
  it('defaults to R19 (2 × p99, 1 s) and to the backend options when the config says nothing', () => {
    assert.deepEqual(watchdogSettings('m', DEFAULT_EXECUTION), { factor: 2, floorMs: 1000, coldMs: 30_000 });
    assert.deepEqual(watchdogSettings('m', execution({}), { factor: 3, floorMs: 250 }), { factor: 3, floorMs: 250 });
    assert.deepEqual(watchdogSettings('m', execution({ watchdog_factor: ' ' })), DEFAULT_WATCHDOG);
  });

  it('reads watchdog_factor and watchdog_floor_ms over the defaults', () => {
    assert.deepEqual(
      watchdogSettings('m', execution({ watchdog_factor: '2.5', watchdog_floor_ms: ' 300 ' }), {
        factor: 9,
        floorMs: 9,
      }),
      { factor: 2.5, floorMs: 300 },
    );
    // An explicit floor also bounds the cold runs: no 30 s grace.
    assert.deepEqual(watchdogSettings('m', execution({ watchdog_floor_ms: '30000' })), { factor: 2, floorMs: 30000 });
    assert.deepEqual(watchdogSettings('m', execution({ watchdog_floor_ms: '500' })), { factor: 2, floorMs: 500 });
  });

  it('refuses a malformed value with IG_ERR_MODEL_LOAD naming the parameter', () => {
    const refused = (parameters: Record<string, string>, message: string) =>
      assert.throws(
        () => watchdogSettings('m', execution(parameters)),
        (err: unknown) => err instanceof InferError && err.code === 'IG_ERR_MODEL_LOAD' && err.message === message,
      );
    refused(
      { watchdog_factor: 'two' },
      "failed to load 'm': parameter 'watchdog_factor' must be a number of at least 1, got 'two'",
    );
    refused(
      { watchdog_factor: '0.5' },
      "failed to load 'm': parameter 'watchdog_factor' must be a number of at least 1, got '0.5'",
    );
    refused(
      { watchdog_factor: '-2' },
      "failed to load 'm': parameter 'watchdog_factor' must be a number of at least 1, got '-2'",
    );
    refused(
      { watchdog_floor_ms: '1s' },
      "failed to load 'm': parameter 'watchdog_floor_ms' must be a positive integer (ms), got '1s'",
    );
    refused(
      { watchdog_floor_ms: '0' },
      "failed to load 'm': parameter 'watchdog_floor_ms' must be a positive integer (ms), got '0'",
    );
    refused(
      { watchdog_floor_ms: '2.5' },
      "failed to load 'm': parameter 'watchdog_floor_ms' must be a positive integer (ms), got '2.5'",
    );
  });
});
