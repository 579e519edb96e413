import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InferError, type SequenceBatchingSpec, type Tensor } from '../../../src/core/index.js';
import { SequenceScheduler } from '../../../src/scheduler/sequence-scheduler.js';
import type { Job, JobResult } from '../../../src/scheduler/types.js';
import { schedulerContract } from '../../contract/scheduler.contract.js';
import { FakeTime, handModel, row, tick } from './batch-fakes.js';

const SEQ: SequenceBatchingSpec = {
  strategy: 'direct',
  maxIdleUs: 1_000_000,
  slotsPerInstance: 2,
  maxQueueDelayUs: 0,
  preferredBatchSizes: [],
  controls: [
    { input: 'START', kind: 'start', datatype: 'INT32', falseTrue: [0, 1] },
    { input: 'END', kind: 'end', datatype: 'INT32', falseTrue: [0, 1] },
    { input: 'READY', kind: 'ready', datatype: 'FP32', falseTrue: [0, 1] },
    { input: 'CORRID', kind: 'corrid', datatype: 'UINT64' },
  ],
  states: [{ input: 'S_IN', output: 'S_OUT', datatype: 'FP32', initialDims: [1] }],
};

function setup(seq: SequenceBatchingSpec = SEQ, instances = 1) {
  const time = new FakeTime();
  const { loaded, inst } = handModel(instances);
  const s = new SequenceScheduler({ model: 'acc', maxBatchSize: 2, sequence: seq }, loaded, {
    clock: time,
    timers: time,
  });
  return { s, inst, time };
}

const job = (id: number | string, v: number, start = false, end = false): Job => ({
  inputs: [row(v)],
  batchSize: 1,
  sequence: { id, start, end },
});

const data = (inputs: Tensor[], name: string) => {
  const t = inputs.find((x) => x.name === name);
  assert.ok(t, `no input ${name}`);
  return Array.from(t.data as ArrayLike<number | bigint>, (x) => (typeof x === 'bigint' ? Number(x) : x));
};

async function rejection(p: Promise<JobResult>): Promise<InferError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof InferError);
    return e;
  }
  assert.fail('expected a rejection');
}

describe('SequenceScheduler', () => {
  it('feeds control tensors per row and pads empty slots with READY = 0 (direct)', async () => {
    const { s, inst } = setup();
    const a = s.submit(job(7, 1, true));
    await tick();
    const first = inst[0]!.started[0]!;
    assert.deepEqual(data(first.inputs, 'START'), [1]);
    assert.deepEqual(data(first.inputs, 'READY'), [1]);
    assert.deepEqual(data(first.inputs, 'CORRID'), [7]);
    assert.deepEqual(first.inputs.find((t) => t.name === 'START')!.shape, [1, 1]);
    const b = s.submit(job(8, 2, true));
    await tick();
    assert.equal(inst[0]!.started.length, 1, 'one batch at a time per instance');
    first.finish();
    await a;
    await tick();
    const second = inst[0]!.started[1]!;
    // Sequence 8 holds slot 1: row 0 is padding.
    assert.deepEqual(data(second.inputs, 'READY'), [0, 1]);
    assert.deepEqual(data(second.inputs, 'START'), [0, 1]);
    assert.deepEqual(data(second.inputs, 'CORRID'), [0, 8]);
    assert.deepEqual(data(second.inputs, 'x'), [0, 2]);
    second.finish();
    assert.deepEqual(Array.from((await b).outputs.find((t) => t.name === 'x')!.data as Float32Array), [2]);
  });

  it('carries implicit state between requests of a sequence; START resets it', async () => {
    const { s, inst } = setup();
    const state = (v: number): Tensor => ({
      name: 'S_OUT',
      datatype: 'FP32',
      shape: [1, 1],
      data: new Float32Array([v]),
    });
    const p1 = s.submit(job(1, 5, true));
    await tick();
    assert.deepEqual(data(inst[0]!.started[0]!.inputs, 'S_IN'), [0]);
    inst[0]!.started[0]!.finish('ok', [state(5)]);
    await p1;
    const p2 = s.submit(job(1, 2));
    await tick();
    assert.deepEqual(data(inst[0]!.started[1]!.inputs, 'S_IN'), [5]);
    inst[0]!.started[1]!.finish('ok', [state(7)]);
    await p2;
    const p3 = s.submit(job(1, 1, true));
    await tick();
    assert.deepEqual(data(inst[0]!.started[2]!.inputs, 'S_IN'), [0], 'a START begins from the initial state');
    inst[0]!.started[2]!.finish('ok', [state(1)]);
    await p3;
  });

  it('refuses what Triton refuses, with its texts', async () => {
    const { s } = setup();
    const none = await rejection(s.submit({ inputs: [row(1)], batchSize: 1 }));
    assert.equal(none.message, "inference request to model 'acc' must specify a non-zero or non-empty correlation ID");
    assert.equal((await rejection(s.submit(job(0, 1, true)))).code, 'IG_ERR_INVALID_ARG');
    const unknown = await rejection(s.submit(job(99, 1, false, true)));
    assert.equal(
      unknown.message,
      "inference request for sequence 99 to model 'acc' must specify the START flag on the first request of the sequence",
    );
    const big = await rejection(s.submit({ ...job(3, 1, true), batchSize: 2 }));
    assert.match(big.message, /must specify batch-size 1 due to requirements of sequence batcher/);
    const text = await rejection(s.submit(job('abc', 1, true)));
    assert.match(text.message, /is a string, but model 'acc' takes its correlation ID as UINT64/);
  });

  it('queues a new sequence in the backlog until a slot ends, and forgets an id at its END', async () => {
    const { s, inst } = setup({ ...SEQ, slotsPerInstance: 1 });
    const a = s.submit(job(1, 1, true));
    const b = s.submit(job(2, 2, true, true));
    await tick();
    assert.equal(inst[0]!.started.length, 1);
    inst[0]!.started[0]!.finish();
    await a;
    await tick();
    assert.equal(inst[0]!.started.length, 1, 'sequence 2 waits: the only slot is taken by 1');
    assert.equal(s.pending, 1);
    const endA = s.submit(job(1, 3, false, true));
    await tick();
    inst[0]!.started[1]!.finish();
    await endA;
    await tick();
    assert.deepEqual(data(inst[0]!.started[2]!.inputs, 'CORRID'), [2]);
    inst[0]!.started[2]!.finish();
    await b;
    const after = await rejection(s.submit(job(1, 1)));
    assert.match(after.message, /must specify the START flag/);
  });

  it('releases the slot of a sequence idle for max_sequence_idle_microseconds', async () => {
    const { s, inst, time } = setup({ ...SEQ, slotsPerInstance: 1, maxIdleUs: 50_000 });
    const a = s.submit(job(1, 1, true));
    await tick();
    inst[0]!.started[0]!.finish();
    await a;
    time.advance(49);
    const b = s.submit(job(1, 1));
    await tick();
    inst[0]!.started[1]!.finish();
    await b;
    // A new sequence waits in the backlog until 1 goes idle, then takes its slot.
    const c = s.submit(job(2, 5, true, true));
    await tick();
    assert.equal(inst[0]!.started.length, 2);
    time.advance(50);
    await tick();
    assert.equal(inst[0]!.started.length, 3);
    inst[0]!.started[2]!.finish();
    await c;
    const late = await rejection(s.submit(job(1, 1)));
    assert.equal(
      late.message,
      "inference request for sequence 1 to model 'acc' must specify the START flag on the first request of the sequence",
    );
  });

  it('oldest: batches the oldest heads of different sequences without padding', async () => {
    const { s, inst } = setup({ ...SEQ, strategy: 'oldest', slotsPerInstance: 4, maxQueueDelayUs: 0 });
    const a = s.submit(job(1, 1, true));
    await tick();
    const b = s.submit(job(2, 2, true));
    const c = s.submit(job(3, 3, true));
    inst[0]!.started[0]!.finish();
    await a;
    await tick();
    const second = inst[0]!.started[1]!;
    assert.deepEqual(data(second.inputs, 'CORRID'), [2, 3]);
    assert.deepEqual(data(second.inputs, 'READY'), [1, 1]);
    second.finish();
    await Promise.all([b, c]);
  });
});

// The core's contract holds for the sequence batcher too: each job is a one-request sequence.
let nextId = 1;
schedulerContract('SequenceScheduler (one-request sequences)', (loaded, options) => {
  const seq: SequenceBatchingSpec = { ...SEQ, controls: [], states: [], slotsPerInstance: 1 };
  const s = new SequenceScheduler({ model: 'm', maxBatchSize: 0, sequence: seq }, loaded, options);
  return {
    submit: (j) => s.submit({ ...j, sequence: { id: nextId++, start: true, end: true } }),
    get pending() {
      return s.pending;
    },
    get inflight() {
      return s.inflight;
    },
    drain: () => s.drain(),
    abandon: (e) => s.abandon(e),
  };
});
