/**
 * The Scheduler contract, run against every scheduler (architecture rule 3): what submit, cancel,
 * drain, deadlines, dead instances, hooks and execution failures mean, whatever the scheduling
 * policy. Each case drives one hand-finished instance with a hand-moved clock and timer, and
 * submits a job only after the one before it was dispatched, so a batcher forms the same
 * executions as FIFO. Outcomes are checked after a tick rather than awaited, so that a request
 * left unanswered fails its case instead of hanging the run.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { LoadedModel } from '../../src/backend/types.js';
import { InferError, type RequestTrace } from '../../src/core/index.js';
import type { SchedulerOptions } from '../../src/scheduler/scheduler-core.js';
import type { JobResult, Scheduler } from '../../src/scheduler/types.js';
import { FakeTime, type HandInstance, handModel, row, tick } from '../unit/scheduler/batch-fakes.js';

/** Builds the scheduler under test around a loaded model, with the contract's options passed through. */
export type SchedulerUnderTest = (loaded: LoadedModel, options: SchedulerOptions) => Scheduler;

/** Far from 0, so that a Clock.now() value passed where epoch ms belong shows. */
const EPOCH = 1_700_000_000_000;

interface Watched {
  state: 'pending' | 'resolved' | 'rejected';
  value?: JobResult;
  error?: unknown;
}

function watch(p: Promise<JobResult>): Watched {
  const w: Watched = { state: 'pending' };
  p.then(
    (v) => {
      w.state = 'resolved';
      w.value = v;
    },
    (e) => {
      w.state = 'rejected';
      w.error = e;
    },
  );
  return w;
}

function assertRejected(w: Watched, code: string): void {
  assert.equal(w.state, 'rejected', `expected a rejection with ${code}, the request is ${w.state}`);
  assert.ok(w.error instanceof InferError, `expected an InferError, got ${String(w.error)}`);
  assert.equal(w.error.code, code);
}

function assertResolved(w: Watched): JobResult {
  assert.equal(w.state, 'resolved', `expected an answer, the request is ${w.state}: ${String(w.error)}`);
  return w.value!;
}

const values = (r: JobResult) => Array.from(r.outputs[0]!.data as Float32Array);

const boom = () => {
  throw new Error('hook');
};

const trace: RequestTrace = { traceId: '0'.repeat(32), resolved: () => {}, queued: () => {} };

/** Registers the contract tests for one scheduler. */
export function schedulerContract(name: string, make: SchedulerUnderTest): void {
  describe(`Scheduler contract: ${name}`, () => {
    function setup(options: SchedulerOptions = {}): { s: Scheduler; inst: HandInstance; time: FakeTime } {
      const time = new FakeTime(EPOCH);
      const { loaded, inst } = handModel(1);
      return { s: make(loaded, { clock: time, timers: time, ...options }), inst: inst[0]!, time };
    }

    /** `first` is running on the only instance, `second` waits behind it. */
    async function oneRunningOneQueued(s: Scheduler, second: Parameters<Scheduler['submit']>[0]) {
      const first = watch(s.submit({ inputs: [row(1)], batchSize: 1 }));
      await tick();
      const queued = watch(s.submit(second));
      await tick();
      assert.equal(s.inflight, 1);
      assert.equal(s.pending, 1);
      return { first, queued };
    }

    it('resolves with the outputs the instance returned', async () => {
      const { s, inst } = setup();
      const w = watch(s.submit({ inputs: [row(3)], batchSize: 1 }));
      await tick();
      assert.equal(inst.started.length, 1);
      assert.deepEqual(Array.from(inst.started[0]!.inputs[0]!.data as Float32Array), [3]);
      inst.started[0]!.finish('ok', [row(7)]);
      await tick();
      const r = assertResolved(w);
      assert.deepEqual(values(r), [7]);
      assert.equal(r.executedBatchSize, 1);
      assert.deepEqual(r.timing, { inputNs: 1, inferNs: 2, outputNs: 3 });
      assert.equal(s.pending + s.inflight, 0);
    });

    it('an execution failure rejects with the backend’s own error', async () => {
      const { s, inst } = setup();
      const w = watch(s.submit({ inputs: [row(1)], batchSize: 1 }));
      await tick();
      const err = new InferError('IG_ERR_MODEL_EXECUTION', 'the model raised');
      inst.started[0]!.fail(err);
      await tick();
      assert.equal(w.state, 'rejected');
      assert.equal(w.error, err);
    });

    it('a pre-aborted signal rejects IG_ERR_CANCELLED without executing', async () => {
      const { s, inst } = setup();
      const ac = new AbortController();
      ac.abort();
      const w = watch(s.submit({ inputs: [row(1)], batchSize: 1, signal: ac.signal }));
      await tick();
      assertRejected(w, 'IG_ERR_CANCELLED');
      assert.equal(inst.started.length, 0);
    });

    it('an abort while queued rejects IG_ERR_CANCELLED, is counted, and never executes', async () => {
      let cancelled = 0;
      const { s, inst } = setup({ onCancelled: () => cancelled++ });
      const ac = new AbortController();
      const { first, queued } = await oneRunningOneQueued(s, { inputs: [row(2)], batchSize: 1, signal: ac.signal });
      ac.abort();
      await tick();
      assertRejected(queued, 'IG_ERR_CANCELLED');
      assert.equal(cancelled, 1);
      inst.started[0]!.finish();
      await tick();
      assertResolved(first);
      assert.equal(inst.started.length, 1);
      assert.equal(s.pending, 0);
    });

    it('drain waits for queued and running jobs, then refuses new ones with IG_ERR_UNAVAILABLE', async () => {
      const { s, inst } = setup();
      const { first, queued } = await oneRunningOneQueued(s, { inputs: [row(2)], batchSize: 1 });
      let drained = false;
      void s.drain().then(() => {
        drained = true;
      });
      const refused = watch(s.submit({ inputs: [row(3)], batchSize: 1 }));
      await tick();
      assertRejected(refused, 'IG_ERR_UNAVAILABLE');
      inst.started[0]!.finish();
      await tick();
      assert.equal(drained, false, 'drained while a job was still queued');
      assert.equal(inst.started.length, 2, 'the queued job ran');
      inst.started[1]!.finish();
      await tick();
      assert.equal(drained, true);
      assertResolved(first);
      assertResolved(queued);
      assert.equal(inst.started.length, 2);
    });

    it('abandon answers every queued job with the given error at once; a running one finishes', async () => {
      const { s, inst } = setup();
      const { first, queued } = await oneRunningOneQueued(s, { inputs: [row(2)], batchSize: 1 });
      let drained = false;
      void s.drain().then(() => {
        drained = true;
      });
      s.abandon(new InferError('IG_ERR_UNAVAILABLE', 'shutting down'));
      await tick();
      assertRejected(queued, 'IG_ERR_UNAVAILABLE');
      assert.equal(first.state, 'pending', 'the running job is not abandoned');
      inst.started[0]!.finish();
      await tick();
      assertResolved(first);
      assert.equal(drained, true);
      assert.equal(inst.started.length, 1, 'the abandoned job never ran');
    });

    it('with every instance dead, the running job fails IG_ERR_WORKER_CRASHED; queued and new jobs a retryable IG_ERR_UNAVAILABLE and never execute', async () => {
      const { s, inst } = setup();
      const { first, queued } = await oneRunningOneQueued(s, { inputs: [row(2)], batchSize: 1 });
      // The worker dies: the backend fails its in-flight request and the instance is not alive.
      inst.alive = false;
      inst.started[0]!.fail(new InferError('IG_ERR_WORKER_CRASHED', 'worker exited'));
      await tick();
      assertRejected(first, 'IG_ERR_WORKER_CRASHED');
      assertRejected(queued, 'IG_ERR_UNAVAILABLE');
      const later = watch(s.submit({ inputs: [row(3)], batchSize: 1 }));
      await tick();
      assertRejected(later, 'IG_ERR_UNAVAILABLE');
      assert.equal(inst.started.length, 1);
      assert.equal(s.pending + s.inflight, 0);
    });

    it('a throwing onExecution hook is reported once and the request is still answered', async () => {
      const errors: unknown[] = [];
      const { s, inst } = setup({ onExecution: boom, onError: (e) => errors.push(e) });
      const w = watch(s.submit({ inputs: [row(1)], batchSize: 1 }));
      await tick();
      inst.started[0]!.finish();
      await tick();
      assert.deepEqual(values(assertResolved(w)), [1]);
      assert.equal(errors.length, 1);
      assert.equal((errors[0] as Error).message, 'hook');
    });

    it('every statistics hook is guarded: each throw is reported once and costs no answer', async () => {
      const errors: unknown[] = [];
      const { s, inst, time } = setup({
        onExecution: boom,
        onTracedBatch: boom,
        onCancelled: boom,
        onRejected: boom,
        onError: (e) => errors.push(e),
      });
      const ac = new AbortController();
      const traced = watch(s.submit({ inputs: [row(1)], batchSize: 1, trace }));
      await tick();
      const gone = watch(s.submit({ inputs: [row(2)], batchSize: 1, signal: ac.signal }));
      const late = watch(s.submit({ inputs: [row(3)], batchSize: 1, deadline: time.now() - 1 }));
      ac.abort();
      inst.started[0]!.finish();
      await tick();
      assertResolved(traced);
      assertRejected(gone, 'IG_ERR_CANCELLED');
      assertRejected(late, 'IG_ERR_DEADLINE_EXCEEDED');
      assert.equal(errors.length, 4);
    });

    it('a job past its deadline at submit is rejected IG_ERR_DEADLINE_EXCEEDED and never executes', async () => {
      const reasons: string[] = [];
      const { s, inst, time } = setup({ onRejected: (r) => reasons.push(r) });
      time.advance(100);
      const w = watch(s.submit({ inputs: [row(1)], batchSize: 1, deadline: 100 }));
      await tick();
      assertRejected(w, 'IG_ERR_DEADLINE_EXCEEDED');
      assert.equal((w.error as InferError).message, 'request deadline exceeded before the model ran');
      assert.equal(inst.started.length, 0);
      assert.deepEqual(reasons, ['deadline']);
    });

    it('a queued job is rejected when its deadline passes, without waiting for an instance', async () => {
      const reasons: string[] = [];
      const { s, inst, time } = setup({ onRejected: (r) => reasons.push(r) });
      const { first, queued } = await oneRunningOneQueued(s, { inputs: [row(2)], batchSize: 1, deadline: 5 });
      time.advance(4);
      await tick();
      assert.equal(queued.state, 'pending');
      time.advance(1);
      await tick();
      assertRejected(queued, 'IG_ERR_DEADLINE_EXCEEDED');
      assert.deepEqual(reasons, ['deadline']);
      inst.started[0]!.finish();
      await tick();
      assertResolved(first);
      assert.equal(inst.started.length, 1);
    });

    it('a job whose deadline passed by the time an instance frees up never reaches it', async () => {
      const { s, inst, time } = setup();
      const { first, queued } = await oneRunningOneQueued(s, { inputs: [row(2)], batchSize: 1, deadline: 5 });
      // The clock moves without any timer firing: only the dispatch can notice.
      time.t = 6;
      inst.started[0]!.finish();
      await tick();
      assertResolved(first);
      assertRejected(queued, 'IG_ERR_DEADLINE_EXCEEDED');
      assert.equal(inst.started.length, 1);
    });

    it('a job with a future deadline runs, and the instance gets that deadline in epoch ms', async () => {
      const { s, inst, time } = setup();
      time.advance(10);
      const w = watch(s.submit({ inputs: [row(1)], batchSize: 1, deadline: 1010 }));
      await tick();
      assert.deepEqual(inst.started[0]!.options, { deadline: EPOCH + 1010 });
      inst.started[0]!.finish();
      await tick();
      assertResolved(w);
    });

    it('a job without a deadline passes no ExecOptions', async () => {
      const { s, inst } = setup();
      const w = watch(s.submit({ inputs: [row(1)], batchSize: 1 }));
      await tick();
      assert.equal(inst.started[0]!.options, undefined);
      inst.started[0]!.finish();
      await tick();
      assertResolved(w);
    });
  });
}
