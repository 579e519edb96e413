// The shadow runner (src/rollout/shadow.ts) on the router's hooks with scripted schedulers: it
// taps inputs only for calls with shadows, compares after `answered`, drops instead of queueing
// (busy shadow, too many in flight), counts failures, resets per model and waits on close.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { callContext, InferError, type ModelVersionSpec, type Tensor } from '../../../src/core/index.js';
import type { VersionHandle } from '../../../src/repository/types.js';
import { ShadowRunner } from '../../../src/rollout/shadow.js';
import { Hooks } from '../../../src/router/hooks.js';
import type { Exchange } from '../../../src/router/pipeline.js';
import type { Job, JobResult, Scheduler } from '../../../src/scheduler/types.js';

function spec(version: number): ModelVersionSpec {
  return {
    model: 'm',
    version,
    path: '',
    maxBatchSize: 8,
    inputs: [{ name: 'x', datatype: 'FP32', dims: [2] }],
    outputs: [{ name: 'y', datatype: 'FP32', dims: [1] }],
    instances: 1,
    execution: {} as ModelVersionSpec['execution'],
    warmup: [],
  };
}

/** A scheduler that answers y = sum(x) + offset per row, when `release` is called (or at once). */
class ScriptedScheduler implements Scheduler {
  pending = 0;
  inflight = 0;
  jobs: Job[] = [];
  held: Array<() => void> = [];
  constructor(
    private readonly offset: number,
    private readonly o: { hold?: boolean; fail?: boolean } = {},
  ) {}
  submit(job: Job): Promise<JobResult> {
    this.jobs.push(job);
    if (this.o.fail) return Promise.reject(new InferError('IG_ERR_INTERNAL', 'model crashed'));
    const x = job.inputs[0]!.data as Float32Array;
    const y = new Float32Array(job.batchSize);
    for (let r = 0; r < job.batchSize; r++) y[r] = x[2 * r]! + x[2 * r + 1]! + this.offset;
    const result: JobResult = {
      outputs: [{ name: 'y', datatype: 'FP32', shape: [job.batchSize, 1], data: y }],
      timing: { inputNs: 0, inferNs: 0, outputNs: 0 },
      queueNs: 0,
      executedBatchSize: job.batchSize,
    };
    if (!this.o.hold) return Promise.resolve(result);
    return new Promise((resolve) => this.held.push(() => resolve(result)));
  }
  drain() {
    return Promise.resolve();
  }
  abandon() {}
}

const handle = (version: number, scheduler: Scheduler): VersionHandle => ({
  model: 'm',
  version,
  spec: spec(version),
  config: {},
  scheduler,
});

/** Drives one call through the hooks as `schedule` and `observe` would. */
function call(hooks: Hooks, primary: VersionHandle, shadows: VersionHandle[], id: string, x = [1, 2]): Exchange {
  const input: Tensor = { name: 'x', datatype: 'FP32', shape: [1, 2], data: new Float32Array(x) };
  const ex: Exchange = {
    request: { model: 'm', inputs: [input], parameters: {} },
    ctx: callContext({ protocol: 'http', id }),
    startedAt: 0,
    target: { primary, shadows },
  };
  if (hooks.wantsTensors && hooks.tensorsFor(ex))
    ex.inputsCopy = [{ ...input, data: (input.data as Float32Array).slice() }];
  const y = new Float32Array([x[0]! + x[1]!]);
  ex.result = {
    outputs: [{ name: 'y', datatype: 'FP32', shape: [1, 1], data: y }],
    timing: { inputNs: 0, inferNs: 0, outputNs: 0 },
    queueNs: 0,
    executedBatchSize: 1,
  };
  hooks.run('answered', ex, { model: 'm', version: String(primary.version), outputs: ex.result.outputs });
  return ex;
}

const tick = () => new Promise((r) => setImmediate(r));

describe('ShadowRunner', () => {
  it('copies inputs only for calls with shadows, and compares each shadow with the primary', async () => {
    const hooks = new Hooks();
    const runner = new ShadowRunner(hooks);
    const v1 = handle(1, new ScriptedScheduler(0));
    const same = new ScriptedScheduler(0);
    const off = new ScriptedScheduler(0.5);
    assert.equal(call(hooks, v1, [], 'plain').inputsCopy, undefined, 'no shadows: nothing copied');
    // One at a time: each call's shadows finish before the next (maxInFlight is not the subject here).
    for (let i = 0; i < 10; i++) {
      call(hooks, v1, [handle(2, same), handle(3, off)], `r${i}`, [i, 1]);
      await tick();
    }
    await runner.close();
    const [d2, d3] = runner.diffs('m');
    assert.deepEqual([d2!.primary, d2!.shadow, d2!.compared, d2!.disagreed], [1, 2, 10, 0]);
    assert.deepEqual([d3!.shadow, d3!.compared, d3!.disagreed], [3, 10, 10]);
    assert.deepEqual(d3!.outputs.y, { maxAbs: 0.5, sumAbs: 5, count: 10 });
    assert.equal(d3!.worst.length, 10);
    assert.equal(
      d3!.latency.counts.reduce((a, b) => a + b, 0),
      10,
    );
    // Each shadow got its own copy of the inputs (a submitted job's buffers move to a worker).
    assert.notEqual(same.jobs[0]!.inputs[0]!.data, off.jobs[0]!.inputs[0]!.data);
    assert.deepEqual([...(same.jobs[3]!.inputs[0]!.data as Float32Array)], [3, 1]);
    assert.equal(same.jobs[0]!.deadline, undefined);
    assert.equal(same.jobs[0]!.signal, undefined);
  });

  it('drops instead of queueing: a shadow with queued work, or maxInFlight calls running', async () => {
    const hooks = new Hooks();
    const runner = new ShadowRunner(hooks, { maxInFlight: 2 });
    const v1 = handle(1, new ScriptedScheduler(0));
    const busy = new ScriptedScheduler(0);
    busy.pending = 3;
    for (let i = 0; i < 5; i++) call(hooks, v1, [handle(2, busy)], `b${i}`);
    assert.equal(busy.jobs.length, 0);
    const slow = new ScriptedScheduler(0, { hold: true });
    for (let i = 0; i < 5; i++) call(hooks, v1, [handle(3, slow)], `s${i}`);
    assert.equal(slow.jobs.length, 2, 'two in flight, three dropped');
    assert.equal(runner.inFlightCount, 2);
    for (const r of slow.held.splice(0)) r();
    await tick();
    call(hooks, v1, [handle(3, slow)], 'after');
    assert.equal(slow.jobs.length, 3, 'room again once they finished');
    for (const r of slow.held.splice(0)) r();
    await runner.close();
    const byShadow = new Map(runner.diffs('m').map((d) => [d.shadow, d]));
    assert.deepEqual([byShadow.get(2)!.dropped, byShadow.get(2)!.compared], [5, 0]);
    assert.deepEqual([byShadow.get(3)!.dropped, byShadow.get(3)!.compared], [3, 3]);
  });

  it('counts failures (a failing model, inputs the shadow refuses) and reports them', async () => {
    const hooks = new Hooks();
    const failures: number[] = [];
    const runner = new ShadowRunner(hooks, { onFailure: (_e, s) => failures.push(s.version) });
    const v1 = handle(1, new ScriptedScheduler(0));
    const narrow = handle(3, new ScriptedScheduler(0));
    narrow.spec = { ...narrow.spec, inputs: [{ name: 'x', datatype: 'FP32', dims: [3] }] };
    for (let i = 0; i < 3; i++) {
      call(hooks, v1, [handle(2, new ScriptedScheduler(0, { fail: true })), narrow], `f${i}`);
      await tick();
    }
    await runner.close();
    assert.deepEqual(
      runner.diffs('m').map((d) => [d.shadow, d.failed, d.compared]),
      [
        [2, 3, 0],
        [3, 3, 0],
      ],
    );
    assert.equal(failures.length, 6);
  });

  it('resets per model, returns copies, and stops after close', async () => {
    const hooks = new Hooks();
    const runner = new ShadowRunner(hooks);
    const v1 = handle(1, new ScriptedScheduler(0));
    const s = new ScriptedScheduler(1);
    call(hooks, v1, [handle(2, s)], 'a');
    await tick();
    const snapshot = runner.diffs('m');
    snapshot[0]!.compared = 99;
    assert.equal(runner.diffs('m')[0]!.compared, 1);
    runner.reset('m');
    assert.deepEqual(runner.diffs('m'), []);
    await runner.close();
    assert.equal(hooks.wantsTensors, false, 'unhooked');
    call(hooks, v1, [handle(2, s)], 'late');
    assert.equal(s.jobs.length, 1);
  });

  it('keeps the k worst disagreeing calls, largest first', async () => {
    const hooks = new Hooks();
    const runner = new ShadowRunner(hooks, { worstK: 3 });
    const v1 = handle(1, new ScriptedScheduler(0));
    const scaled: Scheduler = Object.assign(new ScriptedScheduler(0), {
      submit(job: Job) {
        const x = job.inputs[0]!.data as Float32Array;
        return Promise.resolve({
          outputs: [
            { name: 'y', datatype: 'FP32' as const, shape: [1, 1], data: new Float32Array([2 * (x[0]! + x[1]!)]) },
          ],
          timing: { inputNs: 0, inferNs: 0, outputNs: 0 },
          queueNs: 0,
          executedBatchSize: 1,
        });
      },
    });
    for (const v of [5, 1, 9, 3, 7]) {
      call(hooks, v1, [handle(2, scaled)], `w${v}`, [v, 0]);
      await tick();
    }
    await runner.close();
    assert.deepEqual(
      runner.diffs('m')[0]!.worst.map((w) => [w.requestId, w.diff]),
      [
        ['w9', 9],
        ['w7', 7],
        ['w5', 5],
      ],
    );
  });
});
