import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cappedConfig, LiveBatchConfig, makeBatchConfig } from '../../../src/scheduler/batch-config.js';
import { DEFAULT_BATCHING } from '../../../src/scheduler/dynamic-batch-scheduler.js';

const batching = { ...DEFAULT_BATCHING, preferredBatchSizes: [2, 8], maxQueueDelayUs: 3_000 };
const stats = (batchSize: number, execMs: number) => ({ batchSize, execMs, latenciesMs: [execMs] });

test('cappedConfig drops preferred sizes above the cap and falls back to the cap itself', () => {
  const base = makeBatchConfig(8, [2, 8], 3);
  assert.deepEqual(cappedConfig(base, 4, 1), { maxBatchSize: 4, preferredBatchSizes: [2], maxQueueDelayMs: 1 });
  assert.deepEqual(cappedConfig(base, 1, 3), { maxBatchSize: 1, preferredBatchSizes: [1], maxQueueDelayMs: 3 });
});

test('LiveBatchConfig without objective or tuning: the model’s config, whatever the batches measure', () => {
  const c = new LiveBatchConfig({ maxBatchSize: 8, batching });
  const model = { maxBatchSize: 8, preferredBatchSizes: [2, 8], maxQueueDelayMs: 3 };
  assert.deepEqual(c.current, model);
  c.learn(stats(8, 100));
  assert.deepEqual(c.current, model);
  assert.equal(
    c.admits(() => assert.fail('the queue is walked only under an objective'), 1, 1),
    true,
  );
  assert.equal(c.queueBudgetMs(), Number.POSITIVE_INFINITY);
});

test('LiveBatchConfig with throughput tuning: the measured cap narrows the model’s config', () => {
  const c = new LiveBatchConfig({ maxBatchSize: 8, batching: { ...batching, throughputTuning: true } });
  assert.equal(c.current.maxBatchSize, 8);
  // The first round measures the largest candidate first, four full batches, then moves on.
  for (let i = 0; i < 4; i++) c.learn(stats(8, 80));
  assert.deepEqual(c.current, { maxBatchSize: 4, preferredBatchSizes: [2], maxQueueDelayMs: 3 });
});

test('LiveBatchConfig with a latency objective: its plan sets cap and delay, its budget sheds, admission may refuse', () => {
  const c = new LiveBatchConfig({ maxBatchSize: 8, batching, latencyObjective: { p99Us: 10_000, windowRequests: 4 } });
  // Nothing measured: the model's cap with no delay, so that real sizes get measured.
  assert.deepEqual(c.current, { maxBatchSize: 8, preferredBatchSizes: [2, 8], maxQueueDelayMs: 0 });
  // One row takes 4 ms: only batches of 1 keep 2 × exec within the objective.
  c.learn(stats(1, 4));
  assert.deepEqual(c.current, { maxBatchSize: 1, preferredBatchSizes: [1], maxQueueDelayMs: 0 });
  assert.equal(c.queueBudgetMs(), 6);
  assert.equal(
    c.admits(() => 0, 1, 1),
    true,
  );
  assert.equal(
    c.admits(() => 5, 1, 1),
    false,
  );
});

test('LiveBatchConfig with objective and tuning: the narrower cap wins', () => {
  const c = new LiveBatchConfig({
    maxBatchSize: 8,
    batching: { ...batching, throughputTuning: true },
    latencyObjective: { p99Us: 10_000, windowRequests: 4 },
  });
  c.learn(stats(1, 4));
  assert.equal(c.current.maxBatchSize, 1);
});
