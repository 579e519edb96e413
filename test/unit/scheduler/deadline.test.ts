import assert from 'node:assert/strict';
import { test } from 'node:test';
import { batchExecOptions, deadlinePassed, sweepDeadlines } from '../../../src/scheduler/deadline.js';
import { FakeTime } from './batch-fakes.js';

const item = (id: number, deadline?: number) => ({ id, job: { deadline } });

test('deadlinePassed: due at the instant itself; absent or infinite never passes', () => {
  assert.equal(deadlinePassed(5, 4.9), false);
  assert.equal(deadlinePassed(5, 5), true);
  assert.equal(deadlinePassed(undefined, 1e12), false);
  assert.equal(deadlinePassed(Number.POSITIVE_INFINITY, 1e12), false);
});

test('sweepDeadlines returns the expired items and the earliest deadline still ahead', () => {
  const items = [item(0, 10), item(1), item(2, 3), item(3, 7), item(4, Number.POSITIVE_INFINITY)];
  const s = sweepDeadlines(items, 5);
  assert.deepEqual(
    s.expired.map((i) => i.id),
    [2],
  );
  assert.equal(s.next, 7);
  assert.equal(sweepDeadlines([item(0), item(1)], 5).next, Number.POSITIVE_INFINITY);
});

test('batchExecOptions: the latest deadline of the batch, in epoch ms', () => {
  const clock = new FakeTime(1_000_000);
  clock.t = 40;
  assert.deepEqual(batchExecOptions([item(0, 50), item(1, 90), item(2, 60)], clock), { deadline: 1_000_090 });
});

test('batchExecOptions: none when no job, or any one job, has a deadline (that job may run whenever)', () => {
  const clock = new FakeTime(1_000_000);
  assert.equal(batchExecOptions([item(0), item(1)], clock), undefined);
  assert.equal(batchExecOptions([item(0, 50), item(1)], clock), undefined);
  assert.equal(batchExecOptions([item(0, 50), item(1, Number.POSITIVE_INFINITY)], clock), undefined);
  assert.equal(batchExecOptions([], clock), undefined);
});
