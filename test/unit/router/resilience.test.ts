// The resilience stages through the real Router over fakes: deadlines (model default, server
// maximum), the breaker in front of a failing version, the fallback chain and its retry budget.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  callContext,
  type Clock,
  InferError,
  type InferRequest,
  type ModelVersionSpec,
  type ResilienceSpec,
} from '../../../src/core/index.js';
import type { ModelRepositoryApi, VersionHandle } from '../../../src/repository/types.js';
import { Router } from '../../../src/router/router.js';
import type { Job, JobResult, Scheduler } from '../../../src/scheduler/types.js';
import { EchoScheduler, FAST_BREAKER, manualClock, quietRouterOptions, repoOfHandles, SPEC, x } from './fakes.js';

/** A scheduler that fails every job with `code` (or answers, once healed), counting executions. */
class Flaky implements Scheduler {
  jobs: Job[] = [];
  pending = 0;
  inflight = 0;
  constructor(public code: InferError['code'] | undefined) {}
  async submit(job: Job): Promise<JobResult> {
    this.jobs.push(job);
    if (this.code) throw new InferError(this.code, `failing with ${this.code}`);
    return new EchoScheduler().submit(job);
  }
  async drain(): Promise<void> {}
  abandon(): void {}
}

function handle(model: string, v: number, scheduler: Scheduler, resilience?: ResilienceSpec): VersionHandle {
  const spec = { ...SPEC, model, version: v } as ModelVersionSpec;
  if (resilience) spec.resilience = resilience;
  return { model, version: v, spec, config: {}, scheduler };
}

const repo = repoOfHandles;
const manual = manualClock;

function routerOf(handles: VersionHandle[], clock: Clock, maxTimeoutMs?: number) {
  return routerOfRepo(repo(handles), clock, maxTimeoutMs);
}

function routerOfRepo(repository: ModelRepositoryApi, clock: Clock, maxTimeoutMs?: number) {
  const steps: string[] = [];
  const retries: boolean[] = [];
  const router = new Router({
    ...quietRouterOptions(),
    repository,
    clock,
    resilience: {
      ...(maxTimeoutMs === undefined ? {} : { maxTimeoutMs }),
      onFallback: (_m, s) => steps.push(s),
      onRetry: (_m, ok) => retries.push(ok),
    },
  });
  return { router, steps, retries };
}

const req = (model = 'm'): InferRequest => ({ model, inputs: [x()], parameters: {} });
const ctx = (deadline?: number) => callContext({ protocol: 'http', ...(deadline === undefined ? {} : { deadline }) });
const chain = (over: Partial<ResilienceSpec>): ResilienceSpec => ({ fallback: [], fallbackReserve: 0.25, ...over });

describe('deadlines', () => {
  test("a call without a deadline gets the model's default; the scheduler sees it", async () => {
    const clock = manual();
    const s = new EchoScheduler();
    const { router } = routerOf([handle('m', 1, s, chain({ defaultTimeoutMs: 300 }))], clock);
    await router.infer(req(), ctx());
    assert.equal(s.jobs[0]!.deadline, clock.t + 300);
  });

  test('a deadline longer than the server maximum is clamped and the response says so', async () => {
    const clock = manual();
    const s = new EchoScheduler();
    const { router } = routerOf([handle('m', 1, s)], clock, 1000);
    const r = await router.infer(req(), ctx(clock.t + 60_000));
    assert.equal(s.jobs[0]!.deadline, clock.t + 1000);
    assert.equal(r.parameters?.['deadline_clamped_ms'], 1000);
    const short = await router.infer(req(), ctx(clock.t + 500));
    assert.equal(short.parameters?.['deadline_clamped_ms'], undefined, 'a deadline under the maximum is untouched');
    await router.infer(req(), ctx());
    assert.equal(s.jobs[2]!.deadline, clock.t + 1000, 'a call with none gets the maximum');
  });

  test('a deadline already past on arrival is refused before anything runs', async () => {
    const clock = manual();
    const s = new EchoScheduler();
    const { router } = routerOf([handle('m', 1, s)], clock);
    await assert.rejects(router.infer(req(), ctx(clock.t - 1)), { code: 'IG_ERR_DEADLINE_EXCEEDED' });
    assert.equal(s.jobs.length, 0);
  });
});

describe('breaker and fallback chain', () => {
  const breakerOn = FAST_BREAKER;

  test('a degraded primary answers through its chain, naming the step, and returns when it heals', async () => {
    const clock = manual();
    const primary = new Flaky('IG_ERR_MODEL_EXECUTION');
    const small = new EchoScheduler();
    const r = chain({ breaker: breakerOn, fallback: [{ kind: 'model', model: 'small' }] });
    const { router, steps } = routerOf([handle('m', 2, primary, r), handle('small', 1, small)], clock);
    for (let i = 0; i < 6; i++) {
      const res = await router.infer(req(), ctx());
      assert.equal(res.parameters?.['fallback_step'], 'model:small');
      assert.equal(res.model, 'small');
    }
    // Two executions failed, then the breaker opened: the other four never reached the primary.
    assert.equal(primary.jobs.length, 2);
    assert.equal(steps.length, 6);
    primary.code = undefined;
    clock.t += 1001; // half-open: the next call is a probe, it succeeds, the breaker closes
    const healed = await router.infer(req(), ctx());
    assert.equal(healed.parameters?.['fallback_step'], undefined);
    assert.equal(healed.model, 'm');
    assert.equal((await router.infer(req(), ctx())).model, 'm');
  });

  test('a failed half-open probe is still answered by the chain, even with the retry budget spent', async () => {
    const clock = manual();
    const primary = new Flaky('IG_ERR_MODEL_EXECUTION');
    const r = chain({ breaker: { ...breakerOn, openMs: 100 }, fallback: [{ kind: 'version', version: 1 }] });
    const { router, retries } = routerOf([handle('m', 2, primary, r), handle('m', 1, new EchoScheduler())], clock);
    // Within one budget window (1 s): two failures open the breaker (2 charged retries), then eight
    // open periods of 100 ms, each with a failing probe and a refused call: all answered by the step.
    for (let i = 0; i < 2; i++) assert.equal((await router.infer(req(), ctx())).version, '1');
    for (let round = 0; round < 8; round++) {
      clock.t += 101;
      for (let i = 0; i < 2; i++) assert.equal((await router.infer(req(), ctx())).version, '1');
    }
    assert.equal(primary.jobs.length, 2 + 8, 'two failures opened it, then one probe per open period');
    assert.deepEqual(retries, [true, true], 'only the two closed-state failures were charged');
  });

  test("an unloaded version's breaker is forgotten (a reload starts closed; the state series leaves the metrics)", async () => {
    const clock = manual();
    const h = handle('m', 1, new Flaky('IG_ERR_MODEL_EXECUTION'), chain({ breaker: breakerOn }));
    let listener: Parameters<ModelRepositoryApi['subscribe']>[0] = () => {};
    const r = repo([h]);
    r.subscribe = (l) => {
      listener = l;
      return () => {};
    };
    const { router } = routerOfRepo(r, clock);
    for (let i = 0; i < 2; i++) await assert.rejects(router.infer(req(), ctx()));
    assert.equal(router.breakers.stateOf('m', 1), 'open');
    listener({ type: 'unloaded', model: 'm', version: 1 });
    assert.equal(router.breakers.stateOf('m', 1), undefined);
    assert.deepEqual(router.breakers.states(), []);
  });

  test('without a chain an open breaker answers 503 with Retry-After', async () => {
    const clock = manual();
    const { router } = routerOf(
      [handle('m', 1, new Flaky('IG_ERR_WORKER_CRASHED'), chain({ breaker: breakerOn }))],
      clock,
    );
    await assert.rejects(router.infer(req(), ctx()), { code: 'IG_ERR_WORKER_CRASHED' });
    await assert.rejects(router.infer(req(), ctx()), { code: 'IG_ERR_WORKER_CRASHED' });
    await assert.rejects(router.infer(req(), ctx()), (e: InferError) => {
      assert.equal(e.code, 'IG_ERR_BREAKER_OPEN');
      assert.equal(e.httpStatus, 503);
      assert.equal(e.headers?.['retry-after'], '1');
      assert.match(e.message, /circuit breaker of model 'm' version 1 is open/);
      return true;
    });
  });

  test('client errors take no step and do not open the breaker', async () => {
    const clock = manual();
    const primary = new Flaky('IG_ERR_INVALID_ARG');
    const r = chain({ breaker: breakerOn, fallback: [{ kind: 'version', version: 1 }] });
    const { router, steps } = routerOf([handle('m', 2, primary, r), handle('m', 1, new EchoScheduler())], clock);
    for (let i = 0; i < 5; i++) await assert.rejects(router.infer(req(), ctx()), { code: 'IG_ERR_INVALID_ARG' });
    assert.equal(primary.jobs.length, 5);
    assert.deepEqual(steps, []);
  });

  test('a full queue steps to another version (not a retry); a step not loaded is skipped', async () => {
    const clock = manual();
    const r = chain({
      fallback: [
        { kind: 'version', version: 7 },
        { kind: 'version', version: 1 },
      ],
    });
    const { router, retries } = routerOf(
      [handle('m', 2, new Flaky('IG_ERR_QUEUE_FULL'), r), handle('m', 1, new EchoScheduler())],
      clock,
    );
    const res = await router.infer(req(), ctx());
    assert.equal(res.version, '1');
    assert.equal(res.parameters?.['fallback_step'], 'version:1');
    assert.deepEqual(retries, [], 'nothing ran on the primary: the step is not charged to the retry budget');
  });

  test('a default answer ends the chain; executions per call never exceed 3', async () => {
    const clock = manual();
    const a = new Flaky('IG_ERR_MODEL_EXECUTION');
    const b = new Flaky('IG_ERR_MODEL_EXECUTION');
    const c = new Flaky('IG_ERR_MODEL_EXECUTION');
    const d = new Flaky('IG_ERR_MODEL_EXECUTION');
    const fixed = { name: 'y', datatype: 'FP32' as const, shape: [1, 2], data: new Float32Array([7, 8]) };
    const steps = [
      { kind: 'model' as const, model: 'b' },
      { kind: 'model' as const, model: 'c' },
      { kind: 'model' as const, model: 'd' },
    ];
    const { router } = routerOf(
      [handle('m', 1, a, chain({ fallback: steps })), handle('b', 1, b), handle('c', 1, c), handle('d', 1, d)],
      clock,
    );
    await assert.rejects(router.infer(req(), ctx()), { code: 'IG_ERR_MODEL_EXECUTION' });
    assert.deepEqual(
      [a, b, c, d].map((s) => s.jobs.length),
      [1, 1, 1, 0],
    );
    const withDefault = routerOf(
      [handle('m', 1, new Flaky('IG_ERR_WORKER_HUNG'), chain({ fallback: [{ kind: 'default', outputs: [fixed] }] }))],
      clock,
    );
    const res = await withDefault.router.infer(req(), ctx());
    assert.equal(res.parameters?.['fallback_step'], 'default');
    assert.deepEqual([...(res.outputs[0]!.data as Float32Array)], [7, 8]);
  });

  test('retries after failed executions stay within the budget (R7): 10% of first attempts, at least 3', async () => {
    const clock = manual();
    const primary = new Flaky('IG_ERR_MODEL_EXECUTION');
    const backup = new EchoScheduler();
    const r = chain({ fallback: [{ kind: 'version', version: 1 }] });
    const { router, retries } = routerOf([handle('m', 2, primary, r), handle('m', 1, backup)], clock);
    let ok = 0;
    let failed = 0;
    for (let i = 0; i < 300; i++) {
      clock.t += 3; // 300 calls in 900 ms: one window
      await router.infer(req(), ctx()).then(
        () => ok++,
        () => failed++,
      );
    }
    assert.equal(primary.jobs.length, 300);
    assert.equal(backup.jobs.length, ok);
    assert.ok(ok <= 30 && ok >= 28, `retries ${ok} of 300 first attempts`);
    assert.equal(retries.filter((a) => a).length, ok);
    assert.equal(failed, 300 - ok);
  });

  test('the primary gets the deadline minus the reserve; the chain gets the rest; no step once the deadline passed', async () => {
    const clock = manual();
    const slow = new Flaky('IG_ERR_DEADLINE_EXCEEDED');
    const backup = new EchoScheduler();
    const r = chain({ fallbackReserve: 0.25, fallback: [{ kind: 'version', version: 1 }] });
    const { router } = routerOf([handle('m', 2, slow, r), handle('m', 1, backup)], clock);
    const res = await router.infer(req(), ctx(clock.t + 400));
    assert.equal(slow.jobs[0]!.deadline, clock.t + 300);
    assert.equal(backup.jobs[0]!.deadline, clock.t + 400);
    assert.equal(res.version, '1');
    // Out of time: the failure is the answer.
    slow.submit = async (job) => {
      slow.jobs.push(job);
      clock.t += 500;
      throw new InferError('IG_ERR_DEADLINE_EXCEEDED', 'late');
    };
    await assert.rejects(router.infer(req(), ctx(clock.t + 400)), { code: 'IG_ERR_DEADLINE_EXCEEDED' });
    assert.equal(backup.jobs.length, 1);
  });
});
