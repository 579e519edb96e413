// Dense hosting on real onnxruntime threads (issue #16 item 3): many small models share a pool of
// threads; a crash or a hang on one thread costs only that thread's requests, and its sessions come
// back on another. `place` is tested as the pure decision it is.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { DEFAULT_SHARED_MAX_BYTES, OrtBackend, type OrtInstance } from '../../../src/backend/ort/index.js';
import { onSharedPool } from '../../../src/backend/ort/backend.js';
import { place } from '../../../src/backend/ort/pool.js';
import type { InstanceEvent, LoadedModel } from '../../../src/backend/types.js';
import { InferError, type ModelVersionSpec, type Tensor } from '../../../src/core/index.js';
import { contractSpec } from '../../contract/backend.contract.js';
import { addOneModel, writeModel } from './models.js';
import { crashInput, hangInput, nextEvent, sleepInput } from './test-hooks.js';

process.env['INFERGATE_TEST_HOOKS'] = '1';

const path = writeModel(addOneModel(4));
const spec = (model: string, over: Partial<ModelVersionSpec> = {}): ModelVersionSpec => ({
  ...contractSpec('add-one', path),
  model,
  ...over,
});
const fp32 = (v: number): Tensor => ({ name: 'x', datatype: 'FP32', shape: [1, 4], data: new Float32Array(4).fill(v) });
const first = async (p: Promise<{ outputs: Tensor[] }>) => ((await p).outputs[0]!.data as Float32Array)[0];
const instanceOf = (m: LoadedModel) => m.instances[0] as OrtInstance;

describe('place (which shared thread a session goes to)', () => {
  const t = (sessions: number, siblings = 0) => ({ sessions, siblings });
  it('starts a thread while fewer than the size exist and every one is in use', () => {
    assert.equal(place([], 2), 'spawn');
    assert.equal(place([t(1)], 2), 'spawn');
    assert.equal(place([t(0)], 2), 0, 'an empty thread is used before a new one starts');
    assert.equal(place([t(3), t(1)], 2), 1, 'at the size: the thread with the fewest sessions');
    assert.equal(place([t(5)], 1), 0);
  });
  it('spreads the instances of one version over different threads first', () => {
    assert.equal(place([t(1, 1), t(4, 0)], 2), 1);
    assert.equal(place([t(1, 1), t(4, 1)], 2), 0);
    assert.equal(place([t(1, 1)], 4), 'spawn');
  });
});

describe('onSharedPool (which versions share)', () => {
  const pool = { size: 2, maxBytes: 100, niceness: 10 };
  it('auto shares small files at the pool niceness; the config overrides; size 0 means no pool', () => {
    const v = { workerPool: 'auto' as const, fileBytes: 100, niceness: 10 };
    assert.equal(onSharedPool(v, pool), true);
    assert.equal(onSharedPool({ ...v, fileBytes: 101 }, pool), false);
    assert.equal(onSharedPool({ ...v, niceness: 5 }, pool), false, 'a thread has one priority');
    assert.equal(onSharedPool({ ...v, fileBytes: 10 ** 9, workerPool: 'shared' }, pool), true);
    assert.equal(onSharedPool({ ...v, workerPool: 'dedicated' }, pool), false);
    assert.equal(onSharedPool({ ...v, workerPool: 'shared' }, { ...pool, size: 0 }), false);
    assert.equal(DEFAULT_SHARED_MAX_BYTES, 4 * 2 ** 20);
  });
});

describe('OrtBackend shared pool', () => {
  const backend = new OrtBackend({ restartDelaysMs: [0, 30], sharedWorkers: 2, watchdog: { floorMs: 300 } });
  after(() => backend.close());

  it('hosts many small models on the pool threads, each answering with its own session', async () => {
    const before = backend.activeWorkers;
    const models = await Promise.all(Array.from({ length: 12 }, (_, i) => backend.load(spec(`m${i}`))));
    try {
      assert.equal(backend.sharedThreads, 2);
      assert.ok(backend.activeWorkers <= Math.max(before, 2), `threads: ${backend.activeWorkers}`);
      assert.equal(backend.sharedSessions, 12);
      const answers = await Promise.all(models.map((m, i) => first(instanceOf(m).execute([fp32(i)]))));
      assert.deepEqual(
        answers,
        models.map((_, i) => i + 1),
      );
    } finally {
      await Promise.all(models.map((m) => m.dispose()));
    }
    assert.equal(backend.sharedSessions, 0, 'disposing a model closes its sessions, the threads stay');
    assert.equal(backend.sharedThreads, 2);
  });

  it("a crash fails only its thread's in-flight requests; that thread's sessions come back on another", async () => {
    const events: InstanceEvent[] = [];
    const onEvent = (e: InstanceEvent) => events.push(e);
    // Three models on two threads: a and c together (placement fills both threads, then the emptier).
    const [a, b, c] = [
      await backend.load(spec('crash-a'), { onEvent }),
      await backend.load(spec('crash-b'), { onEvent }),
      await backend.load(spec('crash-c'), { onEvent }),
    ];
    try {
      const busy = instanceOf(b).execute([fp32(1), sleepInput(100)]);
      const dying = instanceOf(a).execute([fp32(1), crashInput()]);
      const bystander = instanceOf(c).execute([fp32(1)]);
      const crashed = (err: unknown) => err instanceof InferError && err.code === 'IG_ERR_WORKER_CRASHED';
      await assert.rejects(dying, crashed);
      await assert.rejects(bystander, crashed, "the co-tenant's in-flight request fails with the thread");
      assert.equal(await first(busy), 2, 'the other thread was never touched');
      await nextEvent(events, 'restart');
      for (let i = 0; i < 100 && events.filter((e) => e.type === 'restart').length < 2; i++)
        await new Promise((r) => setTimeout(r, 20));
      assert.deepEqual(
        events
          .filter((e) => e.type === 'crash')
          .map((e) => e.instance.model)
          .sort(),
        ['crash-a', 'crash-c'],
      );
      assert.deepEqual(await Promise.all([a, b, c].map((m) => first(instanceOf(m).execute([fp32(5)])))), [6, 6, 6]);
      assert.ok(backend.sharedThreads <= 2);
    } finally {
      await Promise.all([a, b, c].map((m) => m.dispose()));
    }
  });

  it('a hung session retires its thread: its co-tenants move, the other thread keeps serving', async () => {
    const events: InstanceEvent[] = [];
    const onEvent = (e: InstanceEvent) => events.push(e);
    const [a, b, c] = [
      await backend.load(spec('hang-a'), { onEvent }),
      await backend.load(spec('hang-b'), { onEvent }),
      await backend.load(spec('hang-c'), { onEvent }),
    ];
    try {
      const stuck = instanceOf(a).execute([fp32(1), hangInput()]);
      const behind = instanceOf(c).execute([fp32(1)]);
      for (let i = 0; i < 5; i++) assert.equal(await first(instanceOf(b).execute([fp32(i)])), i + 1);
      await assert.rejects(stuck, (err: unknown) => err instanceof InferError && err.code === 'IG_ERR_WORKER_HUNG');
      // Failed with the retired thread: as crashed, or — when its own watchdog (same thread, same
      // last answer) fires first on a loaded machine — as hung. Never answered, never left waiting.
      await assert.rejects(
        behind,
        (err: unknown) =>
          err instanceof InferError && (err.code === 'IG_ERR_WORKER_CRASHED' || err.code === 'IG_ERR_WORKER_HUNG'),
      );
      await nextEvent(events, 'hung');
      assert.ok(
        events.some((e) => e.type === 'hung' && (e.instance.model === 'hang-a' || e.instance.model === 'hang-c')),
        'a session of the stuck thread was judged hung',
      );
      for (let i = 0; i < 100 && events.filter((e) => e.type === 'restart').length < 2; i++)
        await new Promise((r) => setTimeout(r, 20));
      assert.deepEqual(await Promise.all([a, b, c].map((m) => first(instanceOf(m).execute([fp32(2)])))), [3, 3, 3]);
      assert.ok(!events.some((e) => e.instance.model === 'hang-b'), 'the other thread saw nothing');
    } finally {
      await Promise.all([a, b, c].map((m) => m.dispose()));
    }
  });

  it('reads signatures on the pool without starting a thread per model', async () => {
    const threads = backend.activeWorkers;
    const io = await Promise.all(Array.from({ length: 5 }, () => backend.inspect(path)));
    assert.deepEqual(
      io.map((x) => x.inputs[0]?.name),
      ['x', 'x', 'x', 'x', 'x'],
    );
    assert.ok(backend.activeWorkers <= Math.max(threads, 2));
  });
});
