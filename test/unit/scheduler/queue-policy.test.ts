import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import type { DynamicBatchingSpec, QueuePolicySpec } from '../../../src/core/index.js';
import type { QueueEntry } from '../../../src/scheduler/queue-entry.js';
import {
  levelIsFull,
  levelOf,
  policyFor,
  queueDeadline,
  queueFullError,
  retryAfterSeconds,
  sweepExpired,
  withShedBudget,
} from '../../../src/scheduler/queue-policy.js';

const policy = (over: Partial<QueuePolicySpec> = {}): QueuePolicySpec => ({
  timeoutAction: 'REJECT',
  defaultTimeoutUs: 0,
  allowTimeoutOverride: false,
  maxQueueSize: 0,
  ...over,
});

const spec = (over: Partial<DynamicBatchingSpec> = {}): DynamicBatchingSpec => ({
  preferredBatchSizes: [],
  maxQueueDelayUs: 0,
  preserveOrdering: false,
  priorityLevels: 3,
  defaultPriorityLevel: 2,
  defaultQueuePolicy: policy(),
  priorityQueuePolicy: {},
  ...over,
});

test('priority 0, undefined and out-of-range go to the default level; no levels = one level', () => {
  assert.equal(levelOf(undefined, spec()), 2);
  assert.equal(levelOf(0, spec()), 2);
  assert.equal(levelOf(1, spec()), 1);
  assert.equal(levelOf(3, spec()), 3);
  assert.equal(levelOf(4, spec()), 2);
  assert.equal(levelOf(5, spec({ priorityLevels: 0, defaultPriorityLevel: 0 })), 1);
});

test('a level uses its own policy when it has one, else the default', () => {
  const own = policy({ maxQueueSize: 7 });
  const s = spec({ priorityQueuePolicy: { 1: own } });
  assert.equal(policyFor(1, s), own);
  assert.equal(policyFor(2, s), s.defaultQueuePolicy);
});

test("Triton's override rule: the request timeout applies only if allowed, non-zero and smaller", () => {
  const p = policy({ defaultTimeoutUs: 10_000, allowTimeoutOverride: true });
  assert.equal(queueDeadline(100, p, 2_000), 102);
  assert.equal(queueDeadline(100, p, 50_000), 110);
  assert.equal(queueDeadline(100, p, 0), 110);
  assert.equal(queueDeadline(100, p), 110);
  assert.equal(queueDeadline(100, { ...p, allowTimeoutOverride: false }, 2_000), 110);
  // With no default timeout a request timeout has no effect in the batcher queue.
  assert.equal(queueDeadline(100, policy({ allowTimeoutOverride: true }), 2_000), Number.POSITIVE_INFINITY);
  fc.assert(
    fc.property(fc.nat(1e6), fc.boolean(), fc.option(fc.nat(1e6), { nil: undefined }), (def, allow, req) => {
      const d = queueDeadline(0, policy({ defaultTimeoutUs: def, allowTimeoutOverride: allow }), req);
      const base = def > 0 ? def / 1000 : Number.POSITIVE_INFINITY;
      return d <= base && (d === base || (allow && req !== undefined && req > 0 && req < def && d === req / 1000));
    }),
  );
});

test('max_queue_size counts requests; 0 is unbounded; the error carries Triton text and Retry-After', () => {
  assert.equal(levelIsFull(2, policy({ maxQueueSize: 2 })), true);
  assert.equal(levelIsFull(1, policy({ maxQueueSize: 2 })), false);
  assert.equal(levelIsFull(1e9, policy()), false);
  const e = queueFullError(3);
  assert.equal(e.code, 'IG_ERR_QUEUE_FULL');
  assert.equal(e.message, 'Exceeds maximum queue size');
  assert.equal(e.httpStatus, 503);
  assert.deepEqual(e.headers, { 'Retry-After': '3' });
  assert.equal(retryAfterSeconds(100, 8, 1, 0), 1);
  assert.equal(retryAfterSeconds(100, 10, 2, 400), 2);
  assert.equal(retryAfterSeconds(1e9, 1, 1, 1000), 60);
});

test('sweep: REJECT past deadline rejected, DELAY moved once, next deadline reported', () => {
  const base: QueueEntry = {
    id: 0,
    level: 1,
    enqueuedAt: 0,
    deadline: 5,
    timeoutAction: 'REJECT',
    delayed: false,
    batchSize: 1,
    shapeKey: 'a',
  };
  const q: QueueEntry[] = [
    base,
    { ...base, id: 1, timeoutAction: 'DELAY' },
    { ...base, id: 2, timeoutAction: 'DELAY', delayed: true },
    { ...base, id: 3, deadline: 9 },
    { ...base, id: 4, deadline: Number.POSITIVE_INFINITY },
  ];
  assert.deepEqual(sweepExpired(q, 5), { reject: [0], delay: [1], nextDeadline: 9 });
  assert.deepEqual(sweepExpired(q, 4), { reject: [], delay: [], nextDeadline: 5 });
});

test('withShedBudget: below the top level the objective’s budget replaces a later deadline, as a REJECT', () => {
  const e: QueueEntry = {
    id: 0,
    level: 2,
    enqueuedAt: 10,
    deadline: 30,
    timeoutAction: 'DELAY',
    delayed: false,
    batchSize: 1,
    shapeKey: 'a',
  };
  assert.deepEqual(withShedBudget(e, 6, 10), { ...e, deadline: 16, timeoutAction: 'REJECT', shed: true });
  assert.equal(withShedBudget(e, 25, 10), e, 'its own deadline comes first');
  assert.equal(withShedBudget(e, Number.POSITIVE_INFINITY, 10), e, 'no objective');
  assert.equal(withShedBudget({ ...e, level: 1 }, 6, 10).shed, undefined, 'the top level is never overtaken');
});
