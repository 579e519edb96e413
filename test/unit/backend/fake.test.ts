import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { addOneModel, FakeBackend, type FakeInstance, identityModel } from '../../../src/backend/fake/index.js';
import type { InstanceEvent } from '../../../src/backend/types.js';
import { InferError, type Tensor } from '../../../src/core/index.js';
import { contractSpec } from '../../contract/backend.contract.js';

const x = (v: number): Tensor => ({ name: 'x', datatype: 'FP32', shape: [1, 4], data: new Float32Array(4).fill(v) });
const code = (c: string) => (err: unknown) => err instanceof InferError && err.code === c;

describe('FakeBackend', () => {
  it('injects execution failures, crashes and restarts, and records executions', async () => {
    const events: InstanceEvent[] = [];
    const b = new FakeBackend({ models: { m: { ...addOneModel(), delayMs: 20 } }, restartDelayMs: 5 });
    const m = await b.load(contractSpec('add-one', 'm', 2), { onEvent: (e) => events.push(e) });
    const [i0, i1] = m.instances as [FakeInstance, FakeInstance];
    i0.failNextExecute('boom');
    await assert.rejects(i0.execute([x(1)]), code('IG_ERR_MODEL_EXECUTION'));
    const a = i0.execute([x(1)]);
    const queued = i0.execute([x(2)]);
    const ok = i1.execute([x(3)]);
    assert.equal(i0.inflight, 2);
    i0.crash();
    await assert.rejects(a, code('IG_ERR_WORKER_CRASHED'));
    await assert.rejects(queued, code('IG_ERR_WORKER_CRASHED'));
    await assert.rejects(i0.execute([x(1)]), code('IG_ERR_UNAVAILABLE'));
    assert.deepEqual([...((await ok).outputs[0]!.data as Float32Array)], [4, 4, 4, 4]);
    assert.deepEqual(events[0], {
      type: 'crash',
      instance: { model: 'add-one', version: 1, index: 0 },
      reason: 'injected crash',
      failedRequests: 2,
    });
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(events[1]?.type, 'restart');
    assert.equal(i0.alive, true);
    await i0.execute([x(5)]);
    assert.deepEqual(
      b.executions.map((e) => e.instance),
      ['add-one_1_1', 'add-one_1_0'],
    );
    i1.restartSucceeds = false;
    i1.crash('gone');
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(events.at(-1)?.type, 'restart-failed');
    assert.equal(i1.alive, false);
    await b.close();
    assert.equal(b.loadedCount, 0);
  });

  it('serves identity models for BYTES and honours requested outputs and failLoad', async () => {
    const b = new FakeBackend({
      models: { id: identityModel('BYTES', [2]), broken: { ...identityModel(), failLoad: 'nope' } },
    });
    const m = await b.load(contractSpec('add-one', 'id'));
    const data = [new Uint8Array([1, 2]), new Uint8Array([])];
    const r = await m.instances[0]!.execute([{ name: 'x', datatype: 'BYTES', shape: [1, 2], data }]);
    assert.deepEqual(r.outputs[0]!.data, data);
    assert.deepEqual(
      (await m.instances[0]!.execute([{ name: 'x', datatype: 'BYTES', shape: [1, 2], data }], [])).outputs,
      [],
    );
    await assert.rejects(b.load(contractSpec('add-one', 'broken')), /nope/);
    await assert.rejects(b.inspect('unknown'), code('IG_ERR_MODEL_LOAD'));
    await b.close();
  });

  it('reports the model def’s memory per instance and never runs an expired job', async () => {
    const b = new FakeBackend({ models: { m: { ...addOneModel(), memoryBytes: 1000 }, d: addOneModel() } });
    const m = await b.load(contractSpec('add-one', 'm', 3));
    assert.equal(m.memoryBytes, 3000);
    assert.equal((await b.load(contractSpec('add-one', 'd', 2))).memoryBytes, 2 * 1024 * 1024);
    const inst = m.instances[0]!;
    await assert.rejects(
      inst.execute([x(1)], undefined, { deadline: Date.now() - 1 }),
      code('IG_ERR_DEADLINE_EXCEEDED'),
    );
    assert.equal(b.executions.length, 0, 'the expired job was not executed');
    await inst.execute([x(1)], undefined, { deadline: Date.now() + 60_000 });
    assert.deepEqual(
      b.executions.map((e) => e.instance),
      ['add-one_1_0'],
    );
    await b.close();
  });
});
