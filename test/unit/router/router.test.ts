import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { callContext, type CallContext, type InferRequest } from '../../../src/core/index.js';
import { LatestReadyPolicy } from '../../../src/router/policy.js';
import { EchoScheduler, repoOf, routerOver, version, x } from './fakes.js';

const req = (extra: Partial<InferRequest> = {}): InferRequest => ({
  model: 'm',
  inputs: [x()],
  parameters: {},
  ...extra,
});
const ctx = (extra: Partial<Parameters<typeof callContext>[0]> = {}): CallContext =>
  callContext({ protocol: 'grpc', ...extra });

describe('Router pipeline', () => {
  test('infers on the highest READY version and says which one answered', async () => {
    const { router } = routerOver(repoOf([version(1), version(3)]));
    const r = await router.infer(req(), ctx());
    assert.equal(r.version, '3');
    assert.deepEqual(
      r.outputs.map((t) => t.name),
      ['y'],
    );
  });

  test('the request is not mutated and the context reaches the scheduler (signal, trace, deadline)', async () => {
    const s = new EchoScheduler();
    const { router } = routerOver(repoOf([version(1, s)]));
    const request = req({ id: 'abc', priority: 2 });
    const snapshot = structuredClone({ ...request, inputs: [] });
    const signal = new AbortController().signal;
    await router.infer(request, ctx({ signal, deadline: Date.now() + 60_000 }));
    assert.deepEqual({ ...request, inputs: [] }, snapshot);
    const job = s.jobs[0]!;
    assert.equal(job.signal, signal);
    assert.equal(job.priority, 2);
    // The deadline arrives in the scheduler's clock (performance.now() ms), about a minute ahead.
    assert.ok(job.deadline !== undefined && job.deadline - performance.now() > 50_000);
  });

  test('a call already past its deadline is refused before validation and never reaches the scheduler', async () => {
    const s = new EchoScheduler();
    const { router } = routerOver(repoOf([version(1, s)]));
    // Invalid too (wrong input name): the deadline must be what answers, before validation runs.
    const bad = req({ inputs: [{ ...x(), name: 'nope' }] });
    await assert.rejects(router.infer(bad, ctx({ deadline: Date.now() - 1 })), {
      code: 'IG_ERR_DEADLINE_EXCEEDED',
      message: 'request deadline exceeded before the model ran',
    });
    assert.equal(s.jobs.length, 0);
  });

  test('statistics count successes on answered and failures on failed; unknown models count nowhere per version', async () => {
    const { router, stats } = routerOver(repoOf([version(1)]));
    await router.infer(req(), ctx());
    await assert.rejects(router.infer(req({ inputs: [{ ...x(), name: 'nope' }] }), ctx()), {
      code: 'IG_ERR_INVALID_ARG',
    });
    await assert.rejects(router.infer(req({ model: 'zz' }), ctx()), { code: 'IG_ERR_MODEL_NOT_FOUND' });
    const snap = stats.get('m', 1).snapshot();
    assert.equal(snap.inference_stats.success.count, 1);
    assert.equal(snap.inference_stats.fail.count, 1);
    assert.equal(stats.peek('zz', 1), undefined);
  });

  test('answered waits for the transport to report the write', async () => {
    const { router } = routerOver(repoOf([version(1)]));
    const answered: string[] = [];
    router.hooks.add('answered', (_x, res) => answered.push(res.version));
    let wrote: (() => void) | undefined;
    await router.infer(req(), ctx({ written: { onWritten: (fn) => (wrote = fn) } }));
    assert.deepEqual(answered, [], 'not before the write');
    wrote?.();
    assert.deepEqual(answered, ['1']);
  });

  test('a throwing hook is logged once and never keeps a call from its answer', async () => {
    const { router, errors } = routerOver(repoOf([version(1)]));
    router.hooks.add(
      'resolved',
      () => {
        throw new Error('hook bug');
      },
      { label: 'buggy' },
    );
    for (let i = 0; i < 3; i++) assert.equal((await router.infer(req(), ctx())).version, '1');
    assert.equal(errors.length, 1);
    assert.match(JSON.stringify(errors[0]), /buggy/);
  });

  test('the tensor tap: a hook that asks gets a copy of the inputs taken before they went to the scheduler', async () => {
    const s = new EchoScheduler();
    const { router } = routerOver(repoOf([version(1, s)]));
    const seen: number[][] = [];
    const remove = router.hooks.add('answered', (xch) => seen.push([...(xch.inputsCopy![0]!.data as Float32Array)]), {
      tensors: true,
    });
    const input = { ...x(), data: new Float32Array([1, 2]) };
    await router.infer(req({ inputs: [input] }), ctx());
    // The scheduler owns (and here scribbles over) what it was given; the copy is unaffected.
    (s.jobs[0]!.inputs[0]!.data as Float32Array).fill(0);
    assert.deepEqual(seen, [[1, 2]]);
    remove();
    assert.equal(router.hooks.wantsTensors, false);
    let copied = false;
    router.hooks.add('answered', (xch) => (copied = xch.inputsCopy !== undefined));
    await router.infer(req(), ctx());
    assert.equal(copied, false, 'no copy while no hook asks');
  });
});

describe('readiness', () => {
  test('strict (default): every model that should be served is serving; non-strict: once started', () => {
    const notAllServing = { ...repoOf([version(1)]), allReady: () => false };
    assert.equal(routerOver(notAllServing).router.ready(), false);
    assert.equal(routerOver(notAllServing, { strictReadiness: false }).router.ready(), true);
    assert.equal(routerOver(repoOf([version(1)])).router.ready(), true);
  });
});

describe('LatestReadyPolicy', () => {
  const policy = new LatestReadyPolicy(repoOf([version(1), version(2)]));
  test('requested version, default version, and Triton texts for the rest', () => {
    assert.equal(policy.resolve('m', '1').primary.version, 1);
    assert.equal(policy.resolve('m', undefined).primary.version, 2);
    assert.equal(policy.resolve('m', '').primary.version, 2);
    assert.deepEqual(policy.resolve('m', '2').shadows, []);
    assert.throws(() => policy.resolve('zz', undefined), /Request for unknown model: 'zz' is not found/);
    assert.throws(() => policy.resolve('m', '5'), /Request for unknown model: 'm' version 5 is not found/);
    assert.throws(() => policy.resolve('m', '9'), /'m' version 9 is not at ready state/);
  });
  test('no READY version', () => {
    assert.throws(() => new LatestReadyPolicy(repoOf([])).resolve('m', undefined), /has no available versions/);
  });
});
