import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { makeBatchConfig, type BatchConfig } from '../../../src/scheduler/batch-config.js';
import { bestPreferredCut, decide, type Decision } from '../../../src/scheduler/decision.js';
import { compareEntries, insertInOrder, type QueueEntry } from '../../../src/scheduler/queue-entry.js';
import { sweepExpired } from '../../../src/scheduler/queue-policy.js';

let ids = 0;
function entry(over: Partial<QueueEntry> = {}): QueueEntry {
  return {
    id: ids++,
    level: 1,
    enqueuedAt: 0,
    deadline: Number.POSITIVE_INFINITY,
    timeoutAction: 'REJECT',
    delayed: false,
    batchSize: 1,
    shapeKey: 'a',
    ...over,
  };
}
const free = [{ alive: true, inflight: 0 }];
const busy = [{ alive: true, inflight: 1 }];

function queueOf(...es: QueueEntry[]): QueueEntry[] {
  const q: QueueEntry[] = [];
  for (const e of es) insertInOrder(q, e);
  return q;
}

test('an empty queue or no free instance is idle', () => {
  const cfg = makeBatchConfig(8, [], 0);
  assert.deepEqual(decide([], free, cfg, 0), { kind: 'idle' });
  assert.deepEqual(decide(queueOf(entry()), busy, cfg, 0), { kind: 'idle' });
  assert.deepEqual(decide(queueOf(entry()), [{ alive: false, inflight: 0 }], cfg, 0), { kind: 'idle' });
});

test('delay 0 dispatches everything that fits as soon as an instance is free', () => {
  const q = queueOf(entry({ batchSize: 2 }), entry({ batchSize: 3 }), entry({ batchSize: 4 }));
  const d = decide(q, free, makeBatchConfig(6, [], 0), 0);
  assert.equal(d.kind, 'dispatch');
  assert.equal((d as { batchSize: number }).batchSize, 5);
  assert.deepEqual((d as { jobIds: number[] }).jobIds, [q[0]!.id, q[1]!.id]);
});

test('with a delay it waits for a preferred size until the oldest request is due', () => {
  const cfg = makeBatchConfig(8, [4], 10);
  const q = queueOf(entry({ enqueuedAt: 0 }), entry({ enqueuedAt: 3 }));
  assert.deepEqual(decide(q, free, cfg, 5), { kind: 'wait', untilMs: 10 });
  const d = decide(q, free, cfg, 10);
  assert.equal(d.kind, 'dispatch');
  assert.equal((d as { batchSize: number }).batchSize, 2);
});

test('a reachable preferred size is dispatched at once, the largest one', () => {
  const cfg = makeBatchConfig(16, [2, 4], 1000);
  const q = queueOf(...Array.from({ length: 5 }, () => entry()));
  const d = decide(q, free, cfg, 0);
  assert.equal((d as { batchSize: number }).batchSize, 4);
});

test('past the largest preferred size without hitting one, it stops below it', () => {
  assert.equal(bestPreferredCut([3, 6], [4]), 1);
  assert.equal(bestPreferredCut([5], [4]), 1);
  assert.equal(bestPreferredCut([1, 2, 3], [4]), 0);
  assert.equal(bestPreferredCut([1, 2, 3, 4, 5], [2, 4]), 4);
});

test('a request of another shape ends the batch and makes it go now', () => {
  const cfg = makeBatchConfig(8, [8], 1000);
  const q = queueOf(entry(), entry(), entry({ shapeKey: 'b' }), entry());
  const d = decide(q, free, cfg, 0);
  assert.deepEqual((d as { jobIds: number[] }).jobIds, [q[0]!.id, q[1]!.id]);
});

test('higher priority goes first; DELAYed requests go behind their level', () => {
  const low = entry({ level: 2, enqueuedAt: 0 });
  const late = entry({ level: 1, delayed: true });
  const high = entry({ level: 1, enqueuedAt: 5 });
  const q = queueOf(low, late, high);
  assert.deepEqual(
    q.map((e) => e.id),
    [high.id, late.id, low.id],
  );
  const d = decide(q, free, makeBatchConfig(1, [], 0), 5);
  assert.deepEqual((d as { jobIds: number[] }).jobIds, [high.id]);
});

test('an expired REJECT request is never part of a batch', () => {
  const q = queueOf(entry({ deadline: 3 }), entry());
  const d = decide(q, free, makeBatchConfig(8, [], 0), 5);
  assert.deepEqual((d as { jobIds: number[] }).jobIds, [q[1]!.id]);
});

// ---- property: a simulated driver over random arrivals, completions, cancellations and time ----

type Op =
  | { t: 'arrive'; level: number; bs: number; shape: string; timeoutMs: number; action: 'REJECT' | 'DELAY' }
  | { t: 'complete'; k: number }
  | { t: 'cancel'; k: number }
  | { t: 'advance'; dt: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  // Arrivals weigh most so that backlogs (and full, delayed, mixed batches) actually form.
  {
    weight: 4,
    arbitrary: fc.record({
      t: fc.constant('arrive' as const),
      level: fc.integer({ min: 1, max: 3 }),
      bs: fc.integer({ min: 1, max: 4 }),
      shape: fc.constantFrom('a', 'b'),
      timeoutMs: fc.constantFrom(0, 0, 2, 7, 15),
      action: fc.constantFrom('REJECT' as const, 'DELAY' as const),
    }),
  },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('complete' as const), k: fc.nat(5) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('cancel' as const), k: fc.nat(20) }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('advance' as const), dt: fc.integer({ min: 0, max: 12 }) }) },
);

const cfgArb = fc
  .record({
    max: fc.integer({ min: 4, max: 8 }),
    preferred: fc.subarray([1, 2, 3, 4, 5, 6, 7, 8]),
    delay: fc.constantFrom(0, 1, 5, 10),
    instances: fc.integer({ min: 1, max: 3 }),
  })
  .map((r) => ({ cfg: makeBatchConfig(r.max, r.preferred, r.delay), instances: r.instances }));

type Outcome = 'dispatched' | 'rejected' | 'cancelled';

class Sim {
  now = 0;
  queue: QueueEntry[] = [];
  inflight: number[];
  running: number[][] = [];
  runningOn: number[] = [];
  outcome = new Map<number, Outcome>();
  arrived: number[] = [];
  wakeAt = Number.POSITIVE_INFINITY;
  nextId = 0;

  constructor(
    readonly cfg: BatchConfig,
    instances: number,
  ) {
    this.inflight = Array.from({ length: instances }, () => 0);
  }

  settle(): void {
    const sweep = sweepExpired(this.queue, this.now);
    for (const id of sweep.reject) this.finish(this.remove(id), 'rejected');
    for (const id of sweep.delay) insertInOrder(this.queue, { ...this.remove(id), delayed: true });
    let d: Decision;
    for (;;) {
      d = decide(
        this.queue,
        this.inflight.map((n) => ({ alive: true, inflight: n })),
        this.cfg,
        this.now,
      );
      if (d.kind !== 'dispatch') break;
      this.checkDispatch(d);
    }
    this.checkHeld(d);
    this.wakeAt = Math.min(sweep.nextDeadline, d.kind === 'wait' ? d.untilMs : Number.POSITIVE_INFINITY);
  }

  checkDispatch(d: Extract<Decision, { kind: 'dispatch' }>): void {
    assert.equal(this.inflight[d.instance], 0, 'dispatched to a busy instance');
    const batch = d.jobIds.map((id) => this.remove(id));
    assert.ok(batch.length > 0);
    assert.ok(d.batchSize <= this.cfg.maxBatchSize, 'batch above max_batch_size');
    assert.equal(
      batch.reduce((n, e) => n + e.batchSize, 0),
      d.batchSize,
    );
    assert.ok(
      batch.every((e) => e.shapeKey === batch[0]!.shapeKey),
      'shapes mixed in one batch',
    );
    for (const e of batch) {
      assert.ok(!(e.timeoutAction === 'REJECT' && e.deadline <= this.now), 'expired REJECT request dispatched');
      for (const r of this.queue) {
        assert.ok(r.level >= e.level, 'a higher-priority request was left behind');
        if (r.level === e.level && !r.delayed && !e.delayed) assert.ok(r.id > e.id, 'FIFO broken within a level');
        assert.ok(compareEntries(e, r) < 0, 'batch is not a prefix of the dispatch order');
      }
    }
    for (const e of batch) this.finish(e, 'dispatched');
    this.inflight[d.instance]!++;
    this.running.push(batch.map((e) => e.id));
    this.runningOn.push(d.instance);
  }

  /** With an instance free and requests queued, nobody may be past their delay, and the wake-up is due then. */
  checkHeld(d: Decision): void {
    if (this.queue.length === 0 || this.inflight.every((n) => n > 0)) return;
    assert.equal(d.kind, 'wait', 'an instance idles while a batch is ready');
    const oldest = Math.min(...this.queue.map((e) => e.enqueuedAt));
    assert.ok(this.now < oldest + this.cfg.maxQueueDelayMs, 'request held past its max_queue_delay');
    assert.ok((d as { untilMs: number }).untilMs <= oldest + this.cfg.maxQueueDelayMs);
  }

  remove(id: number): QueueEntry {
    const i = this.queue.findIndex((e) => e.id === id);
    assert.ok(i >= 0, `request ${id} not queued`);
    return this.queue.splice(i, 1)[0]!;
  }

  finish(e: QueueEntry, o: Outcome): void {
    assert.equal(this.outcome.get(e.id), undefined, `request ${e.id} answered twice`);
    this.outcome.set(e.id, o);
  }

  apply(op: Op): void {
    if (op.t === 'arrive') {
      const id = this.nextId++;
      this.arrived.push(id);
      const deadline = op.timeoutMs > 0 ? this.now + op.timeoutMs : Number.POSITIVE_INFINITY;
      insertInOrder(this.queue, {
        id,
        level: op.level,
        enqueuedAt: this.now,
        deadline,
        timeoutAction: op.action,
        delayed: false,
        batchSize: op.bs,
        shapeKey: op.shape,
      });
    } else if (op.t === 'complete') this.complete(op.k);
    else if (op.t === 'cancel') {
      const e = this.queue[op.k % Math.max(1, this.queue.length)];
      if (e) this.finish(this.remove(e.id), 'cancelled');
    } else this.advance(op.dt);
    this.settle();
  }

  complete(k: number): void {
    if (this.running.length === 0) return;
    const i = k % this.running.length;
    this.running.splice(i, 1);
    this.inflight[this.runningOn.splice(i, 1)[0]!]!--;
  }

  /** Moves time like the driver's timer would: stopping at every wake-up on the way. */
  advance(dt: number): void {
    const end = this.now + dt;
    while (this.wakeAt <= end) {
      this.now = Math.max(this.now, this.wakeAt);
      this.settle();
    }
    this.now = end;
  }
}

test('property: batches respect size, shape, priority, FIFO, delay and timeouts; nothing lost or doubled', () => {
  fc.assert(
    fc.property(cfgArb, fc.array(opArb, { maxLength: 80 }), ({ cfg, instances }, ops) => {
      const sim = new Sim(cfg, instances);
      for (const op of ops) sim.apply(op);
      // Work everything off: complete all running batches and let time pass until the queue is empty.
      for (let guard = 0; guard < 500 && (sim.queue.length > 0 || sim.running.length > 0); guard++) {
        sim.apply({ t: 'complete', k: 0 });
        sim.apply({ t: 'advance', dt: 20 });
      }
      assert.equal(sim.queue.length, 0);
      assert.equal(sim.running.length, 0);
      for (const id of sim.arrived) assert.ok(sim.outcome.has(id), `request ${id} lost`);
      assert.equal(sim.outcome.size, sim.arrived.length);
    }),
    { numRuns: 300 },
  );
});
