// The worker watchdog on real onnxruntime workers (reliability.md R19): a worker that never answers
// is declared hung, its requests fail with IG_ERR_WORKER_HUNG, the other instance keeps serving and
// a replacement takes over; a run that is only slow is left alone. No timing is asserted beyond
// "settles instead of hanging".
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { OrtBackend, type OrtInstance } from '../../../src/backend/ort/index.js';
import type { InstanceEvent } from '../../../src/backend/types.js';
import { InferError, type ModelVersionSpec, type Tensor } from '../../../src/core/index.js';
import { contractSpec } from '../../contract/backend.contract.js';
import { addOneModel, writeModel } from './models.js';
import { hangInput, nextEvent, sleepInput } from './test-hooks.js';

process.env['INFERGATE_TEST_HOOKS'] = '1';

// A small floor keeps the hang tests short; the slow-run test sets its own through the config.
const backend = new OrtBackend({ restartDelaysMs: [0, 30], watchdog: { floorMs: 300 } });
after(() => backend.close());

const path = writeModel(addOneModel(4));
function spec(model: string, over: Partial<ModelVersionSpec> = {}): ModelVersionSpec {
  return { ...contractSpec('add-one', path), model, ...over };
}
const withParameters = (s: ModelVersionSpec, parameters: Record<string, string>): ModelVersionSpec => ({
  ...s,
  execution: { ...s.execution, parameters },
});

const fp32 = (v: number): Tensor => ({ name: 'x', datatype: 'FP32', shape: [1, 4], data: new Float32Array(4).fill(v) });
const out = async (p: Promise<{ outputs: Tensor[] }>) => [...((await p).outputs[0]!.data as Float32Array)];
const hungError = (err: unknown) => err instanceof InferError && err.code === 'IG_ERR_WORKER_HUNG';

/** Rejects when `p` has not settled within `ms`: "settles, not hangs", never a latency check. */
function settlesWithin<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`still pending after ${ms} ms`)), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

describe('OrtInstance watchdog', () => {
  it('declares a worker that never answers hung, fails what it holds, serves on the other instance, then replaces it', async () => {
    const events: InstanceEvent[] = [];
    const m = await backend.load(spec('hangs', { instances: 2 }), { onEvent: (e) => events.push(e) });
    try {
      const [i0, i1] = m.instances as [OrtInstance, OrtInstance];
      const doomed = i0.execute([fp32(1), hangInput()]);
      const queued = i0.execute([fp32(2)]);
      // While instance 0 is stuck, instance 1 keeps answering.
      for (let i = 0; i < 5; i++) assert.deepEqual(await out(i1.execute([fp32(i)])), [i + 1, i + 1, i + 1, i + 1]);
      await assert.rejects(settlesWithin(doomed, 15_000), hungError);
      await assert.rejects(queued, hungError);
      assert.match(
        String(await doomed.catch((e: Error) => e.message)),
        /^model instance 'hangs_1_0' did not answer within 300 ms; it is being replaced$/,
      );
      assert.deepEqual(await nextEvent(events, 'hung'), {
        type: 'hung',
        instance: { model: 'hangs', version: 1, index: 0 },
        ms: 300,
        failedRequests: 2,
      });
      assert.deepEqual(await out(i1.execute([fp32(7)])), [8, 8, 8, 8], 'the other instance was never touched');
      if (!i0.alive) await assert.rejects(i0.execute([fp32(1)]), /did not answer and is being replaced/);
      await nextEvent(events, 'restart');
      assert.equal(i0.alive, true, 'the replacement is up');
      assert.deepEqual(await out(i0.execute([fp32(3)])), [4, 4, 4, 4]);
      assert.equal(events.filter((e) => e.type === 'crash').length, 0, 'the dropped worker never reports a crash');
    } finally {
      await m.dispose();
    }
  });

  it('leaves slow runs under the bound alone, each queued run watched from its own start', async () => {
    const events: InstanceEvent[] = [];
    // Four 500 ms runs queued on one instance: 2 s in all, over the 1.5 s floor, each run well under it.
    const s = withParameters(spec('slowish'), { watchdog_floor_ms: '1500' });
    const m = await backend.load(s, { onEvent: (e) => events.push(e) });
    try {
      const i0 = m.instances[0] as OrtInstance;
      const runs = [1, 2, 3, 4].map((v) => out(i0.execute([fp32(v), sleepInput(500)])));
      assert.deepEqual(await Promise.all(runs), [
        [2, 2, 2, 2],
        [3, 3, 3, 3],
        [4, 4, 4, 4],
        [5, 5, 5, 5],
      ]);
      assert.equal(i0.alive, true);
      assert.deepEqual(
        events.map((e) => e.type),
        [],
      );
    } finally {
      await m.dispose();
    }
  });

  it('a hung run does not stall unloading: dispose settles once the watchdog fails it', async () => {
    const events: InstanceEvent[] = [];
    const m = await backend.load(spec('hang-unload'), { onEvent: (e) => events.push(e) });
    const doomed = m.instances[0]!.execute([fp32(1), hangInput()]);
    await settlesWithin(m.dispose(), 15_000);
    await assert.rejects(doomed, hungError);
    assert.equal((await nextEvent(events, 'hung')).type, 'hung');
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(
      events.some((e) => e.type === 'restart'),
      false,
      'a disposed instance is not replaced',
    );
  });

  it('refuses a malformed watchdog parameter before starting any worker', async () => {
    const before = backend.activeWorkers;
    await assert.rejects(
      backend.load(withParameters(spec('badwatch'), { watchdog_factor: 'soon' })),
      (err: unknown) =>
        err instanceof InferError &&
        err.code === 'IG_ERR_MODEL_LOAD' &&
        err.message ===
          "failed to load 'badwatch': parameter 'watchdog_factor' must be a number of at least 1, got 'soon'",
    );
    assert.equal(backend.activeWorkers, before);
  });
});
