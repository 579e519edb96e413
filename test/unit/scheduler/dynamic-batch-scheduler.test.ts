import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import type { ExecOptions } from '../../../src/backend/types.js';
import type { DynamicBatchingSpec, InferError, QueuePolicySpec, Tensor } from '../../../src/core/index.js';
import { assembleInputs } from '../../../src/scheduler/assemble.js';
import { createScheduler } from '../../../src/scheduler/create-scheduler.js';
import {
  DEFAULT_BATCHING,
  DynamicBatchScheduler,
  type DynamicBatchSchedulerOptions,
} from '../../../src/scheduler/dynamic-batch-scheduler.js';
import { FifoScheduler } from '../../../src/scheduler/fifo-scheduler.js';
import type { JobResult } from '../../../src/scheduler/types.js';
import { FakeTime, handModel, row, tick } from './batch-fakes.js';

const policy = (over: Partial<QueuePolicySpec>): QueuePolicySpec => ({
  ...DEFAULT_BATCHING.defaultQueuePolicy,
  ...over,
});

function setup(
  batching: Partial<DynamicBatchingSpec> = {},
  opts: { instances?: number; max?: number; options?: DynamicBatchSchedulerOptions } = {},
) {
  const time = new FakeTime();
  const { loaded, inst } = handModel(opts.instances ?? 1);
  const s = new DynamicBatchScheduler(
    { maxBatchSize: opts.max ?? 4, batching: { ...DEFAULT_BATCHING, ...batching } },
    loaded,
    { clock: time, timers: time, ...opts.options },
  );
  return { s, inst, time };
}

const values = (r: JobResult) => Array.from(r.outputs[0]!.data as Float32Array);
const code = (c: string) => (e: InferError) => e.code === c;

test('a backlog is batched: up to max_batch_size, FIFO, each request gets its own rows back', async () => {
  const { s, inst } = setup({}, { max: 4 });
  const first = s.submit({ inputs: [row(0)], batchSize: 1 });
  await tick();
  const rest = [1, 2, 3, 4, 5].map((v) => s.submit({ inputs: [row(v, v === 2 ? 2 : 1)], batchSize: v === 2 ? 2 : 1 }));
  await tick();
  assert.equal(inst[0]!.started.length, 1);
  assert.equal(s.pending, 5);
  inst[0]!.started[0]!.finish();
  await first;
  await tick();
  // 1 + 2 + 1 = 4 rows; the request of value 4 would overflow, so it waits for the next batch.
  const batch = inst[0]!.started[1]!;
  assert.deepEqual(batch.inputs[0]!.shape, [4, 1]);
  assert.deepEqual(Array.from(batch.inputs[0]!.data as Float32Array), [1, 2, 2, 3]);
  batch.finish();
  await tick();
  assert.deepEqual(inst[0]!.started[2]!.inputs[0]!.shape, [2, 1]);
  inst[0]!.started[2]!.finish();
  const rs = await Promise.all(rest);
  assert.deepEqual(rs.map(values), [[1], [2, 2], [3], [4], [5]]);
  assert.deepEqual(
    rs.map((r) => r.executedBatchSize),
    [4, 4, 4, 2, 2],
  );
});

test('max_queue_delay: a partial batch waits for the delay, then goes on the one timer', async () => {
  const { s, inst, time } = setup({ maxQueueDelayUs: 10_000, preferredBatchSizes: [4] }, { max: 8 });
  const ps = [1, 2].map((v) => s.submit({ inputs: [row(v)], batchSize: 1 }));
  await tick();
  time.advance(4);
  const third = s.submit({ inputs: [row(3)], batchSize: 1 });
  await tick();
  assert.equal(inst[0]!.started.length, 0);
  assert.equal(time.armed, 1);
  time.advance(5.9);
  await tick();
  assert.equal(inst[0]!.started.length, 0);
  time.advance(0.1);
  await tick();
  assert.equal(inst[0]!.started.length, 1);
  assert.deepEqual(inst[0]!.started[0]!.inputs[0]!.shape, [3, 1]);
  inst[0]!.started[0]!.finish();
  const rs = await Promise.all([...ps, third]);
  assert.equal(rs[0]!.queueNs, 10e6);
  assert.equal(rs[2]!.queueNs, 6e6);
});

test('a preferred size reached goes at once, without waiting for the delay', async () => {
  const { s, inst } = setup({ maxQueueDelayUs: 1e9, preferredBatchSizes: [2] }, { max: 8 });
  const ps = [1, 2, 3].map((v) => s.submit({ inputs: [row(v)], batchSize: 1 }));
  await tick();
  assert.deepEqual(inst[0]!.started[0]!.inputs[0]!.shape, [2, 1]);
  inst[0]!.started[0]!.finish();
  await Promise.all(ps.slice(0, 2));
  assert.equal(s.pending, 1);
});

test('max_queue_delay with a real short timer', async () => {
  const { loaded, inst } = handModel(1);
  const s = new DynamicBatchScheduler(
    { maxBatchSize: 8, batching: { ...DEFAULT_BATCHING, maxQueueDelayUs: 5_000, preferredBatchSizes: [8] } },
    loaded,
  );
  const ps = [1, 2].map((v) => s.submit({ inputs: [row(v)], batchSize: 1 }));
  for (let i = 0; i < 400 && inst[0]!.started.length === 0; i++) await new Promise((r) => setTimeout(r, 5));
  assert.deepEqual(inst[0]!.started[0]!.inputs[0]!.shape, [2, 1]);
  inst[0]!.started[0]!.finish();
  await Promise.all(ps);
});

test('requests of different shapes or outputs are never mixed', async () => {
  const { s, inst } = setup({}, { max: 8 });
  const block = s.submit({ inputs: [row(0)], batchSize: 1 });
  await tick();
  const wide = { name: 'x', datatype: 'FP32' as const, shape: [1, 2], data: new Float32Array([7, 7]) };
  const ps = [
    s.submit({ inputs: [row(1)], batchSize: 1 }),
    s.submit({ inputs: [wide], batchSize: 1 }),
    s.submit({ inputs: [row(2)], batchSize: 1, outputs: ['y'] }),
  ];
  inst[0]!.started[0]!.finish();
  for (let i = 1; i <= 3; i++) {
    await tick();
    assert.equal(inst[0]!.started[i]!.inputs[0]!.shape[0], 1);
    inst[0]!.started[i]!.finish();
  }
  assert.deepEqual(inst[0]!.started[3]!.outputs, ['y']);
  await Promise.all([block, ...ps]);
});

test('a full queue answers at once with IG_ERR_QUEUE_FULL and a Retry-After hint', async () => {
  let rejected = 0;
  const { s, inst } = setup(
    { defaultQueuePolicy: policy({ maxQueueSize: 2 }) },
    { max: 1, options: { onRejected: (r) => r === 'queue-full' && rejected++ } },
  );
  const ps = [s.submit({ inputs: [row(1)], batchSize: 1 })];
  await tick();
  ps.push(...[2, 3].map((v) => s.submit({ inputs: [row(v)], batchSize: 1 })));
  // One runs, two wait: the level is full.
  await assert.rejects(s.submit({ inputs: [row(4)], batchSize: 1 }), (e: InferError) => {
    return e.code === 'IG_ERR_QUEUE_FULL' && e.message === 'Exceeds maximum queue size' && !!e.headers?.['Retry-After'];
  });
  assert.equal(rejected, 1);
  for (let i = 0; i < 3; i++) {
    inst[0]!.started[i]!.finish();
    await tick();
  }
  await Promise.all(ps);
});

test('queue full is per priority level', async () => {
  const { s, inst } = setup(
    { priorityLevels: 2, defaultPriorityLevel: 2, priorityQueuePolicy: { 1: policy({ maxQueueSize: 1 }) } },
    { max: 1 },
  );
  const run = s.submit({ inputs: [row(0)], batchSize: 1, priority: 2 });
  await tick();
  const a = s.submit({ inputs: [row(1)], batchSize: 1, priority: 1 });
  await assert.rejects(s.submit({ inputs: [row(2)], batchSize: 1, priority: 1 }), code('IG_ERR_QUEUE_FULL'));
  const b = s.submit({ inputs: [row(3)], batchSize: 1, priority: 2 });
  for (let i = 0; i < 3; i++) {
    await tick();
    inst[0]!.started[i]!.finish();
  }
  await Promise.all([run, a, b]);
});

test('a REJECT timeout answers "Request timeout expired" and the request never runs', async () => {
  let timeouts = 0;
  const { s, inst, time } = setup(
    { defaultQueuePolicy: policy({ defaultTimeoutUs: 5_000, allowTimeoutOverride: true }) },
    { max: 1, options: { onRejected: (r) => r === 'timeout' && timeouts++ } },
  );
  const running = s.submit({ inputs: [row(0)], batchSize: 1 });
  await tick();
  const late = s.submit({ inputs: [row(1)], batchSize: 1 });
  const sooner = s.submit({ inputs: [row(2)], batchSize: 1, timeoutUs: 1_000 });
  await tick();
  time.advance(1);
  await assert.rejects(
    sooner,
    (e: InferError) => e.code === 'IG_ERR_QUEUE_TIMEOUT' && e.message === 'Request timeout expired',
  );
  time.advance(4);
  await assert.rejects(late, code('IG_ERR_QUEUE_TIMEOUT'));
  inst[0]!.started[0]!.finish();
  await running;
  await tick();
  assert.equal(inst[0]!.started.length, 1);
  assert.equal(timeouts, 2);
  assert.equal(s.pending, 0);
});

test('a DELAY timeout moves the request behind the ones still on time', async () => {
  const { s, inst, time } = setup(
    { defaultQueuePolicy: policy({ timeoutAction: 'DELAY', defaultTimeoutUs: 5_000 }) },
    { max: 1 },
  );
  const order: number[] = [];
  const sub = (v: number) => s.submit({ inputs: [row(v)], batchSize: 1 }).then((r) => order.push(values(r)[0]!));
  const ps = [sub(0), sub(1)];
  await tick();
  time.advance(6);
  ps.push(sub(2));
  for (let i = 0; i < 3; i++) {
    await tick();
    inst[0]!.running[0]!.finish();
  }
  await Promise.all(ps);
  assert.deepEqual(order, [0, 2, 1]);
});

test('higher priority runs first, FIFO within a level', async () => {
  const { s, inst } = setup({ priorityLevels: 3, defaultPriorityLevel: 2 }, { max: 1 });
  const order: number[] = [];
  const sub = (v: number, priority?: number) =>
    s.submit({ inputs: [row(v)], batchSize: 1, priority }).then((r) => order.push(values(r)[0]!));
  const ps = [sub(0, 3)];
  await tick();
  ps.push(sub(1, 3), sub(2), sub(3, 1), sub(4, 0), sub(5, 1), sub(6, 9));
  for (let i = 0; i < 7; i++) {
    await tick();
    inst[0]!.running[0]!.finish();
  }
  await Promise.all(ps);
  assert.deepEqual(order, [0, 3, 5, 2, 4, 6, 1]);
});

test('a cancelled request is removed, counted, and never reaches an instance', async () => {
  let cancelled = 0;
  const { s, inst } = setup({}, { max: 4, options: { onCancelled: () => cancelled++ } });
  const first = s.submit({ inputs: [row(0)], batchSize: 1 });
  await tick();
  const ac = new AbortController();
  const gone = s.submit({ inputs: [row(1)], batchSize: 1, signal: ac.signal });
  const stays = s.submit({ inputs: [row(2)], batchSize: 1 });
  ac.abort();
  await assert.rejects(gone, code('IG_ERR_CANCELLED'));
  inst[0]!.started[0]!.finish();
  await tick();
  assert.deepEqual(Array.from(inst[0]!.started[1]!.inputs[0]!.data as Float32Array), [2]);
  inst[0]!.started[1]!.finish();
  await Promise.all([first, stays]);
  assert.equal(cancelled, 1);
  assert.equal(s.pending, 0);
});

test('preserve_ordering answers in request order whatever order batches finish in', async () => {
  const { s, inst } = setup({ preserveOrdering: true }, { max: 1, instances: 2 });
  const order: number[] = [];
  const ps = [0, 1, 2].map((v) => s.submit({ inputs: [row(v)], batchSize: 1 }).then(() => order.push(v)));
  await tick();
  inst[1]!.started[0]!.finish();
  await tick();
  inst[1]!.started[1]!.finish();
  await tick();
  assert.deepEqual(order, []);
  inst[0]!.started[0]!.finish();
  await Promise.all(ps);
  assert.deepEqual(order, [0, 1, 2]);
});

test('onExecution is called once per batch with its size; no instance idles while a batch is ready', async () => {
  const calls: number[] = [];
  const { s, inst } = setup({}, { max: 2, instances: 2, options: { onExecution: (b) => calls.push(b) } });
  const ps = [1, 2, 3, 4].map((v) => s.submit({ inputs: [row(v)], batchSize: 1 }));
  await tick();
  assert.equal(inst[0]!.started.length, 1);
  assert.equal(inst[1]!.started.length, 1);
  for (const i of inst) i.started[0]!.finish();
  await Promise.all(ps);
  assert.deepEqual(calls, [2, 2]);
});

test('an execution failure fails exactly that batch; the queue proceeds', async () => {
  const { s, inst } = setup({}, { max: 2 });
  const a = s.submit({ inputs: [row(0)], batchSize: 1 });
  await tick();
  const b = s.submit({ inputs: [row(1)], batchSize: 1 });
  inst[0]!.started[0]!.finish('fail');
  await assert.rejects(a, code('IG_ERR_MODEL_EXECUTION'));
  await tick();
  inst[0]!.started[1]!.finish();
  await b;
});

test('outputs that do not split fail that batch with IG_ERR_INTERNAL and the loop lives on', async () => {
  const errors: unknown[] = [];
  const { s, inst } = setup({}, { max: 4, options: { onError: (e) => errors.push(e) } });
  const block = s.submit({ inputs: [row(0)], batchSize: 1 });
  await tick();
  const ab = [1, 2].map((v) => s.submit({ inputs: [row(v)], batchSize: 1 }));
  inst[0]!.started[0]!.finish();
  await block;
  await tick();
  inst[0]!.started[1]!.finish('ok', [row(9, 3)]);
  for (const p of ab) await assert.rejects(p, code('IG_ERR_INTERNAL'));
  assert.equal(errors.length, 1);
  const c = s.submit({ inputs: [row(3)], batchSize: 1 });
  await tick();
  inst[0]!.started[2]!.finish();
  assert.deepEqual(values(await c), [3]);
});

test('with every instance dead the queue fails fast', async () => {
  const { s, inst } = setup({}, { max: 2 });
  inst[0]!.alive = false;
  await assert.rejects(s.submit({ inputs: [row(0)], batchSize: 1 }), code('IG_ERR_UNAVAILABLE'));
});

test('drain waits for queued and running work and refuses new jobs', async () => {
  const { s, inst, time } = setup({ maxQueueDelayUs: 50_000 }, { max: 4 });
  const ps = [1, 2].map((v) => s.submit({ inputs: [row(v)], batchSize: 1 }));
  let drained = false;
  const d = s.drain().then(() => {
    drained = true;
  });
  await assert.rejects(s.submit({ inputs: [row(3)], batchSize: 1 }), code('IG_ERR_UNAVAILABLE'));
  time.advance(50);
  await tick();
  assert.equal(drained, false);
  inst[0]!.started[0]!.finish();
  await Promise.all(ps);
  await d;
  assert.equal(drained, true);
  assert.equal(time.armed, 0);
});

test('createScheduler: dynamic batcher only with dynamic_batching and max_batch_size > 0', () => {
  const { loaded } = handModel(1);
  assert.ok(createScheduler({ maxBatchSize: 4, batching: DEFAULT_BATCHING }, loaded) instanceof DynamicBatchScheduler);
  assert.ok(createScheduler({ maxBatchSize: 0, batching: DEFAULT_BATCHING }, loaded) instanceof FifoScheduler);
  assert.ok(createScheduler({ maxBatchSize: 4 }, loaded) instanceof FifoScheduler);
});

const NEVER_RAN = new Set(['IG_ERR_CANCELLED', 'IG_ERR_QUEUE_TIMEOUT', 'IG_ERR_QUEUE_FULL']);

type DriverOp =
  | { t: 'submit'; priority: number; bs: number; wide: boolean; abortable: boolean }
  | { t: 'finish'; k: number; fail: boolean }
  | { t: 'abort'; k: number }
  | { t: 'advance'; ms: number };

const driverOp: fc.Arbitrary<DriverOp> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({
      t: fc.constant('submit' as const),
      priority: fc.nat(3),
      bs: fc.integer({ min: 1, max: 3 }),
      wide: fc.boolean(),
      abortable: fc.boolean(),
    }),
  },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('finish' as const), k: fc.nat(4), fail: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('abort' as const), k: fc.nat(30) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 8 }) }) },
);

test('property: through the driver every accepted request is answered exactly once', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.record({
        delayUs: fc.constantFrom(0, 3_000),
        timeoutUs: fc.constantFrom(0, 4_000),
        action: fc.constantFrom('REJECT' as const, 'DELAY' as const),
        ordering: fc.boolean(),
        instances: fc.integer({ min: 1, max: 2 }),
      }),
      fc.array(driverOp, { maxLength: 40 }),
      async (c, ops) => {
        const q = policy({ timeoutAction: c.action, defaultTimeoutUs: c.timeoutUs, maxQueueSize: 6 });
        const { s, inst, time } = setup(
          {
            maxQueueDelayUs: c.delayUs,
            preserveOrdering: c.ordering,
            priorityLevels: 2,
            defaultPriorityLevel: 2,
            defaultQueuePolicy: q,
          },
          { max: 4, instances: c.instances },
        );
        const answers: number[] = [];
        const neverRan = new Set<number>();
        const aborts: AbortController[] = [];
        const all: Promise<unknown>[] = [];
        for (const op of ops) {
          if (op.t === 'submit') {
            const ac = new AbortController();
            if (op.abortable) aborts.push(ac);
            const data = {
              name: 'x',
              datatype: 'FP32' as const,
              shape: [op.bs, op.wide ? 2 : 1],
              // Every element carries the request's index, so executions can be traced back to requests.
              data: new Float32Array(op.bs * (op.wide ? 2 : 1)).fill(answers.length),
            };
            const i = answers.push(0) - 1;
            const p = s.submit({ inputs: [data], batchSize: op.bs, priority: op.priority, signal: ac.signal });
            all.push(
              p.then(
                () => answers[i]!++,
                (e: InferError) => {
                  answers[i]!++;
                  if (NEVER_RAN.has(e.code)) neverRan.add(i);
                },
              ),
            );
          } else if (op.t === 'finish') {
            const running = inst.flatMap((x) => x.running);
            running[op.k % Math.max(1, running.length)]?.finish(op.fail ? 'fail' : 'ok');
          } else if (op.t === 'abort') aborts[op.k % Math.max(1, aborts.length)]?.abort();
          else time.advance(op.ms);
          await tick();
        }
        for (let guard = 0; guard < 200 && (s.pending > 0 || s.inflight > 0); guard++) {
          for (const r of inst.flatMap((x) => x.running)) r.finish();
          time.advance(10);
          await tick();
        }
        await Promise.all(all);
        // Each request ran at most once, in one batch; none answered "never ran" reached an instance.
        const ranIn = new Map<number, number>();
        for (const b of inst.flatMap((x) => x.started))
          for (const v of new Set(b.inputs[0]!.data as Float32Array)) ranIn.set(v, (ranIn.get(v) ?? 0) + 1);
        assert.ok([...ranIn.values()].every((n) => n === 1));
        for (const i of neverRan) assert.equal(ranIn.has(i), false, `request ${i} ran after it was answered`);
        return answers.every((n) => n === 1) && s.pending === 0 && s.inflight === 0;
      },
    ),
    { numRuns: 60 },
  );
});

test('a decision that throws fails the queued requests with IG_ERR_INTERNAL; the loop lives on', async () => {
  const errors: unknown[] = [];
  const { s, inst } = setup({}, { max: 4, options: { onError: (e) => errors.push(e) } });
  let faults = 1;
  // The decision reads every instance's load; make that read fail once.
  let inflight = 0;
  Object.defineProperty(inst[0]!, 'inflight', {
    get() {
      if (faults-- > 0) throw new Error('bad instance state');
      return inflight;
    },
    set(v: number) {
      inflight = v;
    },
  });
  await assert.rejects(s.submit({ inputs: [row(1)], batchSize: 1 }), code('IG_ERR_INTERNAL'));
  assert.equal(errors.length, 1);
  const ok = s.submit({ inputs: [row(2)], batchSize: 1 });
  await tick();
  inst[0]!.started[0]!.finish();
  assert.deepEqual(values(await ok), [2]);
});

test('a throwing statistics hook never breaks scheduling', async () => {
  const boom = () => {
    throw new Error('hook');
  };
  const { s, inst } = setup({}, { max: 4, options: { onExecution: boom, onCancelled: boom, onError: boom } });
  const ac = new AbortController();
  const a = s.submit({ inputs: [row(1)], batchSize: 1 });
  await tick();
  const b = s.submit({ inputs: [row(2)], batchSize: 1, signal: ac.signal });
  ac.abort();
  await assert.rejects(b, code('IG_ERR_CANCELLED'));
  inst[0]!.started[0]!.finish();
  assert.deepEqual(values(await a), [1]);
});

test('preserve_ordering: a request cancelled in the queue is answered at once and holds nobody up', async () => {
  const { s, inst } = setup({ preserveOrdering: true }, { max: 1 });
  const order: string[] = [];
  const first = s.submit({ inputs: [row(0)], batchSize: 1 }).then(() => order.push('first'));
  await tick();
  const ac = new AbortController();
  const gone = s.submit({ inputs: [row(1)], batchSize: 1, signal: ac.signal }).catch(() => order.push('cancelled'));
  const last = s.submit({ inputs: [row(2)], batchSize: 1 }).then(() => order.push('last'));
  ac.abort();
  await gone;
  assert.deepEqual(order, ['cancelled']);
  inst[0]!.started[0]!.finish();
  await tick();
  inst[0]!.started[1]!.finish();
  await Promise.all([first, last]);
  assert.deepEqual(order, ['cancelled', 'first', 'last']);
});

/** A two-priority scheduler with a 10 ms p99 objective that has measured one 4 ms execution. */
async function sloScheduler() {
  const reasons: string[] = [];
  const time = new FakeTime();
  const { loaded, inst } = handModel(1);
  const s = new DynamicBatchScheduler(
    {
      maxBatchSize: 8,
      batching: { ...DEFAULT_BATCHING, priorityLevels: 2, defaultPriorityLevel: 2 },
      latencyObjective: { p99Us: 10_000, windowRequests: 4 },
    },
    loaded,
    { clock: time, timers: time, onRejected: (r) => reasons.push(r) },
  );
  const sub = (v: number, priority: number) => s.submit({ inputs: [row(v)], batchSize: 1, priority });
  const warm = sub(0, 1);
  await tick();
  time.advance(4);
  inst[0]!.started[0]!.finish();
  await warm;
  return { time, inst, reasons, sub };
}

test('latency objective: learns the batch cap from execution times and sheds the lowest priority first', async () => {
  // One row takes 4 ms: only batches of 1 keep 2 × exec within the objective, and a queued
  // request may wait 10 - 4 = 6 ms.
  const { time, inst, reasons, sub } = await sloScheduler();
  const a = sub(1, 1);
  await tick();
  const b = sub(2, 2);
  const bDone = b.then(
    () => 'served',
    (e: InferError) => e.code,
  );
  await assert.rejects(sub(3, 2), (e: InferError) => e.code === 'IG_ERR_QUEUE_FULL' && !!e.headers?.['Retry-After']);
  const d = sub(4, 1);
  assert.deepEqual(reasons, ['shed']);
  const order: number[] = [];
  for (let i = 1; i <= 2; i++) {
    await tick();
    const batch = inst[0]!.running[0]!;
    assert.equal(batch.inputs[0]!.shape[0], 1);
    order.push((batch.inputs[0]!.data as Float32Array)[0]!);
    time.advance(4);
    batch.finish();
  }
  await Promise.all([a, d]);
  // Priority 1 ran first; row 2, overtaken by row 4, waited past the 6 ms budget and was shed.
  assert.deepEqual(order, [1, 4]);
  assert.equal(await bDone, 'IG_ERR_QUEUE_FULL');
  assert.deepEqual(reasons, ['shed', 'shed']);
});

test('latency objective: a lower-priority request overtaken past its queue budget is shed, never run late', async () => {
  // One row takes 4 ms: only batches of 1 keep 2 × exec within the objective, and a queued
  // request may wait 10 - 4 = 6 ms.
  const { time, inst, reasons, sub } = await sloScheduler();
  const ran: number[] = [];
  const runNext = async () => {
    await tick();
    const batch = inst[0]!.running[0]!;
    ran.push((batch.inputs[0]!.data as Float32Array)[0]!);
    time.advance(4);
    batch.finish();
  };
  const first = sub(1, 1);
  await tick(); // row 1 runs; row 2 (priority 2) is admitted behind it
  const low = sub(2, 2);
  const lowDone = low.then(
    () => 'served',
    (e: InferError) => e,
  );
  const high = sub(3, 1); // overtakes row 2
  await runNext(); // row 1 finishes at +4 ms
  await runNext(); // row 3 runs, finishes at +8 ms: row 2 has waited 8 ms > 6 ms
  time.advance(0);
  await Promise.all([first, high]);
  const outcome = await lowDone;
  assert.ok(outcome instanceof Error && (outcome as InferError).code === 'IG_ERR_QUEUE_FULL', String(outcome));
  assert.match((outcome as InferError).message, /latency objective/);
  assert.deepEqual(ran, [1, 3], 'the shed request never reached the instance');
  assert.deepEqual(reasons, ['shed']);
});

test('createScheduler: a latency objective alone also selects the batcher', () => {
  const { loaded } = handModel(1);
  const spec = { maxBatchSize: 4, latencyObjective: { p99Us: 1000, windowRequests: 10 } };
  assert.ok(createScheduler(spec, loaded) instanceof DynamicBatchScheduler);
});

test('batch_size_tuning throughput: under a backlog the cap moves to the size cheapest per row', async () => {
  const { s, inst, time } = setup({ throughputTuning: true }, { max: 8 });
  // Batches of 4 are the cheapest per row (ms per row by batch size).
  const perRow: Record<number, number> = { 1: 30, 2: 28, 4: 26, 8: 29 };
  const answered: Promise<JobResult>[] = [];
  const sizes: number[] = [];
  for (let i = 0; i < 24; i++) {
    // Keep more than max_batch_size queued, so every batch fills the cap.
    while (s.pending < 12) answered.push(s.submit({ inputs: [row(answered.length)], batchSize: 1 }));
    await tick();
    const batch = inst[0]!.running[0]!;
    const b = batch.inputs[0]!.shape[0]!;
    sizes.push(b);
    time.advance(perRow[b]! * b);
    batch.finish();
  }
  await tick();
  while (inst[0]!.running.length > 0) {
    inst[0]!.running[0]!.finish();
    await tick();
  }
  await Promise.all(answered);
  // The first round measures 8, 4, 2, 1 (four batches each), then stays at 4.
  assert.deepEqual(sizes.slice(0, 16), [8, 8, 8, 8, 4, 4, 4, 4, 2, 2, 2, 2, 1, 1, 1, 1]);
  assert.deepEqual(sizes.slice(16), [4, 4, 4, 4, 4, 4, 4, 4]);
});

test('a backend with executeBatch gets each request’s own tensors (joined where it runs); a batch of one uses execute', async () => {
  const time = new FakeTime();
  const { loaded, inst } = handModel(1);
  const calls: Array<{ kind: string; rows: number[] }> = [];
  const hand = inst[0]!;
  const realExecute = hand.execute.bind(hand);
  const batchInstance = Object.assign(hand, {
    executeBatch(requests: ReadonlyArray<readonly Tensor[]>, outputs?: string[]) {
      calls.push({ kind: 'batch', rows: requests.map((r) => r[0]!.shape[0]!) });
      return realExecute(assembleInputs(requests), outputs);
    },
  });
  batchInstance.execute = (inputs: Tensor[], outputs?: string[]) => {
    calls.push({ kind: 'single', rows: inputs.map((t) => t.shape[0]!) });
    return realExecute(inputs, outputs);
  };
  const s = new DynamicBatchScheduler({ maxBatchSize: 4, batching: DEFAULT_BATCHING }, loaded, {
    clock: time,
    timers: time,
  });
  const first = s.submit({ inputs: [row(0)], batchSize: 1 });
  await tick();
  const rest = [1, 2, 3].map((v) => s.submit({ inputs: [row(v)], batchSize: 1 }));
  await tick();
  hand.started[0]!.finish();
  await tick();
  hand.started[1]!.finish();
  const rs = await Promise.all([first, ...rest]);
  assert.deepEqual(rs.map(values), [[0], [1], [2], [3]]);
  assert.deepEqual(calls, [
    { kind: 'single', rows: [1] },
    { kind: 'batch', rows: [1, 1, 1] },
  ]);
});

test('a batch hands executeBatch the latest of its jobs’ deadlines in epoch ms, none when one job has none', async () => {
  const time = new FakeTime(1_000_000);
  const { loaded, inst } = handModel(1);
  const hand = inst[0]!;
  const seen: Array<ExecOptions | undefined> = [];
  Object.assign(hand, {
    executeBatch(requests: ReadonlyArray<readonly Tensor[]>, outputs?: string[], options?: ExecOptions) {
      seen.push(options);
      return hand.execute(assembleInputs(requests), outputs, options);
    },
  });
  const s = new DynamicBatchScheduler({ maxBatchSize: 4, batching: DEFAULT_BATCHING }, loaded, {
    clock: time,
    timers: time,
  });
  const block = s.submit({ inputs: [row(0)], batchSize: 1 });
  await tick();
  const timed = [20, 50, 30].map((deadline, v) => s.submit({ inputs: [row(v + 1)], batchSize: 1, deadline }));
  hand.started[0]!.finish();
  await tick();
  const mixed = [
    s.submit({ inputs: [row(4)], batchSize: 1, deadline: 20 }),
    s.submit({ inputs: [row(5)], batchSize: 1 }),
  ];
  hand.started[1]!.finish();
  await tick();
  hand.started[2]!.finish();
  await Promise.all([block, ...timed, ...mixed]);
  assert.deepEqual(seen, [{ deadline: 1_000_050 }, undefined]);
  assert.deepEqual(
    hand.started.map((b) => b.inputs[0]!.shape[0]),
    [1, 3, 2],
  );
});

test('a deadline wakes the batcher while a partial batch waits for max_queue_delay', async () => {
  const reasons: string[] = [];
  const { s, inst, time } = setup(
    { maxQueueDelayUs: 10_000, preferredBatchSizes: [4] },
    { max: 8, options: { onRejected: (r) => reasons.push(r) } },
  );
  const early = s.submit({ inputs: [row(1)], batchSize: 1, deadline: 3 });
  const patient = s.submit({ inputs: [row(2)], batchSize: 1 });
  await tick();
  time.advance(3);
  await assert.rejects(early, code('IG_ERR_DEADLINE_EXCEEDED'));
  assert.deepEqual(reasons, ['deadline']);
  assert.equal(inst[0]!.started.length, 0, 'the batch still waits for its delay');
  time.advance(7);
  await tick();
  assert.deepEqual(Array.from(inst[0]!.started[0]!.inputs[0]!.data as Float32Array), [2]);
  inst[0]!.started[0]!.finish();
  await patient;
});
