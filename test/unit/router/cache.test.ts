// The response cache through the real Router over fakes (stage `cache`, and the `cache` fallback
// step): hits answer without scheduling and are counted as Triton does, only models with
// response_cache are cached, tenants never share, a hit is no breaker success, a fallback answer is
// never stored as the primary's, the lookup gets the call's time left.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ResponseCache, type ResponseCacheApi } from '../../../src/cache/cache.js';
import { MemoryTier } from '../../../src/cache/memory-tier.js';
import {
  callContext,
  type Clock,
  InferError,
  type InferRequest,
  type InferResponse,
  type ModelVersionSpec,
  type Principal,
  type ResilienceSpec,
} from '../../../src/core/index.js';
import type { VersionHandle } from '../../../src/repository/types.js';
import { Router } from '../../../src/router/router.js';
import type { Job, JobResult, Scheduler } from '../../../src/scheduler/types.js';
import { EchoScheduler, FAST_BREAKER, manualClock, quietRouterOptions, repoOfHandles, SPEC, x } from './fakes.js';

/** Echoes its input, or fails with `code` while it is set. */
class Switchable extends EchoScheduler {
  constructor(public code?: InferError['code']) {
    super();
  }
  override async submit(job: Job): Promise<JobResult> {
    if (this.code) {
      this.jobs.push(job);
      throw new InferError(this.code, `failing with ${this.code}`);
    }
    return super.submit(job);
  }
}

function handle(model: string, v: number, scheduler: Scheduler, o: { cache?: boolean; r?: ResilienceSpec } = {}) {
  const spec = { ...SPEC, model, version: v } as ModelVersionSpec;
  if (o.cache !== false) spec.responseCache = true;
  if (o.r) spec.resilience = o.r;
  return { model, version: v, spec, config: {}, scheduler } satisfies VersionHandle;
}

const repo = repoOfHandles;
const manual = manualClock;

function routerOf(handles: VersionHandle[], cache: ResponseCacheApi = memoryCache(), clock: Clock = manual()) {
  const steps: string[] = [];
  const base = quietRouterOptions();
  const stats = base.stats;
  const router = new Router({
    ...base,
    repository: repo(handles),
    clock,
    cache,
    resilience: { onFallback: (_m, s) => steps.push(s) },
  });
  return { router, stats, steps };
}

const memoryCache = () => new ResponseCache({ memory: new MemoryTier({ maxBytes: 1 << 20 }), ttlMs: 60_000 });
const tenant = (t?: string): Principal => ({
  id: `p-${t}`,
  kind: 'api-key',
  scopes: ['infer'],
  ...(t ? { tenant: t } : {}),
});
const ctx = (o: { tenant?: string; deadline?: number } = {}) =>
  callContext({ protocol: 'http', principal: tenant(o.tenant), ...(o.deadline ? { deadline: o.deadline } : {}) });
const req = (v = 0, over: Partial<InferRequest> = {}): InferRequest => {
  const t = x();
  (t.data as Float32Array).fill(v);
  return { model: 'm', inputs: [t], parameters: {}, ...over };
};
const value = (r: InferResponse) => [...(r.outputs[0]!.data as Float32Array)];

describe('the cache stage', () => {
  test('a second identical call is a hit: not scheduled, counted as Triton does, its own id echoed', async () => {
    const s = new EchoScheduler();
    const { router, stats } = routerOf([handle('m', 1, s)]);
    const first = await router.infer(req(3, { id: 'one' }), ctx());
    const second = await router.infer(req(3, { id: 'two' }), ctx());
    assert.equal(s.jobs.length, 1);
    assert.deepEqual(value(second), value(first));
    assert.deepEqual(value(second), [3, 3]);
    assert.equal(second.id, 'two');
    assert.equal(second.parameters, undefined, "Triton's answer does not say it came from the cache");
    const st = stats.get('m', 1).snapshot();
    assert.equal(st.inference_stats.success.count, 2);
    assert.equal(st.inference_count, 1, 'a hit is no inference');
    assert.equal(st.inference_stats.cache_hit.count, 1);
    assert.equal(st.inference_stats.cache_miss.count, 1);
  });

  test('a different input, version or requested output is a miss', async () => {
    const v1 = new EchoScheduler();
    const v2 = new EchoScheduler();
    const { router } = routerOf([handle('m', 1, v1), handle('m', 2, v2)]);
    await router.infer(req(1), ctx());
    await router.infer(req(2), ctx());
    await router.infer(req(1, { version: '1' }), ctx());
    await router.infer(req(1, { outputs: [{ name: 'y' }] }), ctx());
    assert.equal(v2.jobs.length, 3);
    assert.equal(v1.jobs.length, 1);
  });

  test('a model without response_cache is never cached', async () => {
    const s = new EchoScheduler();
    const { router, stats } = routerOf([handle('m', 1, s, { cache: false })]);
    for (let i = 0; i < 3; i++) await router.infer(req(), ctx());
    assert.equal(s.jobs.length, 3);
    assert.equal(stats.get('m', 1).snapshot().inference_stats.cache_miss.count, 0);
  });

  test('two tenants sending identical bytes never share an entry (S17)', async () => {
    const s = new EchoScheduler();
    const { router } = routerOf([handle('m', 1, s)]);
    for (const t of ['a', 'b', undefined, 'a', 'b', undefined]) await router.infer(req(), ctx({ tenant: t }));
    assert.equal(s.jobs.length, 3, 'one execution per tenant, then hits');
  });

  test('the key is taken before the inputs leave: a scheduler that consumes them does not change it', async () => {
    const s = new EchoScheduler();
    const consuming: Scheduler = {
      pending: 0,
      inflight: 0,
      drain: async () => {},
      abandon: () => {},
      submit: async (job) => {
        const out = await s.submit({
          ...job,
          inputs: job.inputs.map((t) => ({ ...t, data: (t.data as Float32Array).slice() })),
        });
        for (const t of job.inputs) (t.data as Float32Array).fill(Number.NaN); // as if transferred
        return out;
      },
    };
    const { router } = routerOf([handle('m', 1, consuming)]);
    await router.infer(req(5), ctx());
    assert.deepEqual(value(await router.infer(req(5), ctx())), [5, 5]);
    assert.equal(s.jobs.length, 1);
  });

  test("the lookup gets the call's time left, and a call without a deadline is not cut short", async () => {
    const budgets: number[] = [];
    const spy: ResponseCacheApi = {
      get: async (_k, budget) => {
        budgets.push(budget);
        return undefined;
      },
      set: () => {},
    };
    const clock = manual();
    const { router } = routerOf([handle('m', 1, new EchoScheduler())], spy, clock);
    await router.infer(req(), ctx({ deadline: clock.t + 300 }));
    await router.infer(req(), ctx());
    assert.deepEqual(budgets, [300, Number.POSITIVE_INFINITY]);
  });
});

describe('the cache and resilience', () => {
  const breakerOn = FAST_BREAKER;

  test('a hit is not a breaker success, and a cached answer still serves while the breaker is open', async () => {
    const s = new Switchable();
    const { router } = routerOf([
      handle('m', 1, s, { r: { breaker: breakerOn, fallback: [], fallbackReserve: 0.25 } }),
    ]);
    await router.infer(req(1), ctx()); // stored
    s.code = 'IG_ERR_MODEL_EXECUTION';
    await assert.rejects(router.infer(req(2), ctx()), { code: 'IG_ERR_MODEL_EXECUTION' });
    assert.deepEqual(value(await router.infer(req(1), ctx())), [1, 1], 'hit between two failures');
    await assert.rejects(router.infer(req(3), ctx()), { code: 'IG_ERR_MODEL_EXECUTION' });
    // Had the hit counted as a success, the failures would not be consecutive and it would be closed.
    assert.equal(router.breakers.stateOf('m', 1), 'open');
    await assert.rejects(router.infer(req(4), ctx()), { code: 'IG_ERR_BREAKER_OPEN' });
    assert.deepEqual(value(await router.infer(req(1), ctx())), [1, 1]);
  });

  test("a fallback step's answer is never stored under the primary's key", async () => {
    const primary = new Switchable('IG_ERR_QUEUE_FULL');
    const small = new EchoScheduler();
    const r: ResilienceSpec = { fallback: [{ kind: 'model', model: 'small' }], fallbackReserve: 0.25 };
    const { router } = routerOf([handle('m', 1, primary, { r }), handle('small', 1, small, { cache: false })]);
    const a = await router.infer(req(), ctx());
    assert.equal(a.parameters?.['fallback_step'], 'model:small');
    primary.code = undefined;
    const b = await router.infer(req(), ctx());
    assert.equal(b.model, 'm', 'the primary ran: no entry from the step');
    assert.equal(primary.jobs.length, 2);
  });

  test("the cache step answers with a cached answer of any of the model's versions, and a miss goes on", async () => {
    const v1 = new EchoScheduler();
    const v2 = new Switchable();
    const fixed = { name: 'y', datatype: 'FP32' as const, shape: [1, 2], data: new Float32Array([7, 8]) };
    const r: ResilienceSpec = {
      fallback: [{ kind: 'cache' }, { kind: 'default', outputs: [fixed] }],
      fallbackReserve: 0.25,
    };
    const { router, steps } = routerOf([handle('m', 1, v1, { r }), handle('m', 2, v2, { r })]);
    await router.infer(req(4, { version: '1' }), ctx()); // v1's answer cached
    v2.code = 'IG_ERR_WORKER_CRASHED';
    const res = await router.infer(req(4, { id: 'c' }), ctx());
    assert.equal(res.parameters?.['fallback_step'], 'cache');
    assert.equal(res.version, '1');
    assert.equal(res.id, 'c');
    assert.deepEqual(value(res), [4, 4]);
    const miss = await router.infer(req(9), ctx());
    assert.equal(miss.parameters?.['fallback_step'], 'default');
    assert.deepEqual(steps, ['cache', 'default']);
    // A tenant never reads another's entry through the step either.
    const other = await router.infer(req(4), ctx({ tenant: 'b' }));
    assert.equal(other.parameters?.['fallback_step'], 'default');
  });
});
