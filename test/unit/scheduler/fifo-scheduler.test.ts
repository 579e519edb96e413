import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import type { BackendInstance, ExecResult, LoadedModel } from '../../../src/backend/types.js';
import { InferError, type Tensor } from '../../../src/core/index.js';
import { FifoScheduler } from '../../../src/scheduler/fifo-scheduler.js';
import { pickInstance } from '../../../src/scheduler/pick-instance.js';

/** An instance whose executions finish when the test says so. */
class ManualInstance implements BackendInstance {
  alive = true;
  inflight = 0;
  readonly started: Array<{ inputs: Tensor[]; finish: (ok?: boolean) => void }> = [];
  constructor(readonly id: string) {}
  execute(inputs: Tensor[]): Promise<ExecResult> {
    this.inflight++;
    return new Promise((resolve, reject) => {
      this.started.push({
        inputs,
        finish: (ok = true) => {
          this.inflight--;
          if (ok) resolve({ outputs: inputs, timing: { inputNs: 1, inferNs: 2, outputNs: 3 } });
          else reject(new InferError('IG_ERR_MODEL_EXECUTION', 'boom'));
        },
      });
    });
  }
  async dispose(): Promise<void> {}
}

function model(n: number): { loaded: LoadedModel; inst: ManualInstance[] } {
  const inst = Array.from({ length: n }, (_, i) => new ManualInstance(`i${i}`));
  return { loaded: { instances: inst, memoryBytes: 0, dispose: async () => {} }, inst };
}

const t = (v: number): Tensor => ({ name: 'x', datatype: 'FP32', shape: [1], data: new Float32Array([v]) });
const tick = () => new Promise((r) => setImmediate(r));

test('pickInstance chooses the least loaded live instance and -1 when all are busy', () => {
  assert.equal(
    pickInstance([
      { alive: true, inflight: 1 },
      { alive: true, inflight: 0 },
    ]),
    1,
  );
  assert.equal(
    pickInstance([
      { alive: false, inflight: 0 },
      { alive: true, inflight: 1 },
    ]),
    -1,
  );
  assert.equal(
    pickInstance([
      { alive: true, inflight: 0 },
      { alive: true, inflight: 0 },
    ]),
    0,
  );
  fc.assert(
    fc.property(fc.array(fc.record({ alive: fc.boolean(), inflight: fc.nat(3) }), { maxLength: 8 }), (xs) => {
      const i = pickInstance(xs);
      if (i === -1) return xs.every((x) => !x.alive || x.inflight >= 1);
      return xs[i]!.alive && xs[i]!.inflight === 0;
    }),
  );
});

test('jobs run one per instance in FIFO order, the rest wait', async () => {
  const { loaded, inst } = model(2);
  const s = new FifoScheduler(loaded);
  const ps = [1, 2, 3].map((v) => s.submit({ inputs: [t(v)], batchSize: 1 }));
  await tick();
  assert.equal(s.inflight, 2);
  assert.equal(s.pending, 1);
  inst[0]!.started[0]!.finish();
  await tick();
  assert.equal((inst[0]!.started[1]!.inputs[0]!.data as Float32Array)[0], 3);
  inst[1]!.started[0]!.finish();
  inst[0]!.started[1]!.finish();
  const rs = await Promise.all(ps);
  assert.deepEqual(
    rs.map((r) => (r.outputs[0]!.data as Float32Array)[0]),
    [1, 2, 3],
  );
});

test('a queued job whose client aborts never reaches an instance', async () => {
  const { loaded, inst } = model(1);
  let cancelled = 0;
  const s = new FifoScheduler(loaded, { onCancelled: () => cancelled++ });
  const first = s.submit({ inputs: [t(1)], batchSize: 1 });
  const ac = new AbortController();
  const second = s.submit({ inputs: [t(2)], batchSize: 1, signal: ac.signal });
  ac.abort();
  await assert.rejects(second, (e: InferError) => e.code === 'IG_ERR_CANCELLED');
  inst[0]!.started[0]!.finish();
  await first;
  assert.equal(inst[0]!.started.length, 1);
  assert.equal(cancelled, 1);
});

test('drain waits for queued and running jobs and refuses new ones', async () => {
  const { loaded, inst } = model(1);
  const s = new FifoScheduler(loaded);
  const a = s.submit({ inputs: [t(1)], batchSize: 1 });
  const b = s.submit({ inputs: [t(2)], batchSize: 1 });
  let drained = false;
  const d = s.drain().then(() => {
    drained = true;
  });
  await assert.rejects(s.submit({ inputs: [t(3)], batchSize: 1 }), (e: InferError) => e.code === 'IG_ERR_UNAVAILABLE');
  inst[0]!.started[0]!.finish();
  await tick();
  assert.equal(drained, false);
  inst[0]!.started[1]!.finish(false);
  await a;
  await assert.rejects(b, (e: InferError) => e.code === 'IG_ERR_MODEL_EXECUTION');
  await d;
  assert.equal(drained, true);
});

test('with every instance dead, queued jobs fail fast with a clear error', async () => {
  const { loaded, inst } = model(1);
  inst[0]!.alive = false;
  const s = new FifoScheduler(loaded);
  await assert.rejects(
    s.submit({ inputs: [t(1)], batchSize: 1 }),
    (e: InferError) => e.code === 'IG_ERR_UNAVAILABLE' && e.httpStatus === 503,
  );
});

test('property: every job is answered exactly once, whatever the completion order', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 1, max: 3 }),
      fc.array(fc.nat(100), { minLength: 1, maxLength: 20 }),
      async (n, order) => {
        const { loaded, inst } = model(n);
        const s = new FifoScheduler(loaded);
        let answered = 0;
        const ps = order.map((v) => s.submit({ inputs: [t(v)], batchSize: 1 }).then(() => answered++));
        for (let guard = 0; guard < 1000 && answered < order.length; guard++) {
          await tick();
          const running = inst.flatMap((i) => i.started.filter((x) => !(x as { done?: boolean }).done));
          const pick = running[guard % Math.max(1, running.length)];
          if (pick) {
            (pick as { done?: boolean }).done = true;
            pick.finish();
          }
        }
        await Promise.all(ps);
        return answered === order.length && s.pending === 0 && s.inflight === 0;
      },
    ),
    { numRuns: 30 },
  );
});
