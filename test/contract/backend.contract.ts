/**
 * The Backend contract, run against every implementation (architecture rule 3).
 * `makeModel(backend, kind)` returns a path the backend can load:
 *   'add-one'      y = x + 1, FP32, signature x/y [-1, 4] (symbolic batch dim)
 *   'slow-add-one' the same, but every execution takes at least SLOW_MS in its instance
 *   'bad-file'     something that is not a model (load and inspect must fail cleanly)
 * The spec's model name is the kind, so a backend may key test behaviour on it.
 * `hooks` reach what the interface does not offer: making an instance crash, and whether model
 * paths are files (then memoryBytes must cover the file).
 */
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { InferError, type ModelVersionSpec, type Tensor } from '../../src/core/index.js';
import type { Backend, BackendInstance, InstanceEvent, LoadedModel } from '../../src/backend/types.js';
import { DEFAULT_EXECUTION } from '../../src/config/execution.js';

export type ContractModelKind = 'add-one' | 'slow-add-one' | 'bad-file';

/** Minimum duration of one 'slow-add-one' execution. */
export const SLOW_MS = 250;

/** A version spec for a contract model at `path`. */
export function contractSpec(kind: ContractModelKind, path: string, instances = 1): ModelVersionSpec {
  return {
    model: kind,
    version: 1,
    path,
    maxBatchSize: 8,
    inputs: [{ name: 'x', datatype: 'FP32', dims: [4] }],
    outputs: [{ name: 'y', datatype: 'FP32', dims: [4] }],
    instances,
    warmup: [],
    execution: DEFAULT_EXECUTION,
  };
}

function x(values: number[]): Tensor[] {
  return [{ name: 'x', datatype: 'FP32', shape: [values.length / 4, 4], data: new Float32Array(values) }];
}

/** Inputs the add-one model fails on when it runs (its input 'x' is missing). */
function notX(): Tensor[] {
  return [{ name: 'z', datatype: 'FP32', shape: [1, 4], data: new Float32Array(4) }];
}

/** What the contract needs beyond the Backend interface. */
export interface ContractHooks {
  /** Makes the instance's execution context die now, as a crash would (it is then restarted). */
  crash(instance: BackendInstance): void;
  /** True when model paths are files on disk: memoryBytes must then be at least the file size per instance. */
  modelsAreFiles: boolean;
}

/** Collects load events; `next(type)` resolves with the first (or next) event of that type. */
function eventLog() {
  const seen: InstanceEvent[] = [];
  const waiting: Array<{ type: InstanceEvent['type']; resolve: (e: InstanceEvent) => void }> = [];
  return {
    onEvent: (e: InstanceEvent) => {
      seen.push(e);
      const i = waiting.findIndex((w) => w.type === e.type);
      if (i >= 0) waiting.splice(i, 1)[0]!.resolve(e);
    },
    next: (type: InstanceEvent['type']) =>
      new Promise<InstanceEvent>((resolve) => {
        const e = seen.find((s) => s.type === type);
        if (e) resolve(e);
        else waiting.push({ type, resolve });
      }),
  };
}

function isCode(code: string, path?: string) {
  return (err: unknown) => {
    assert.ok(err instanceof InferError, `expected InferError, got ${String(err)}`);
    assert.equal(err.code, code);
    if (path !== undefined) assert.ok(!err.message.includes(path), `message leaks the path: ${err.message}`);
    return true;
  };
}

/** Registers the contract tests for one backend implementation. */
export function backendContract(
  name: string,
  makeBackend: () => Backend,
  makeModel: (backend: Backend, kind: ContractModelKind) => Promise<string> | string,
  hooks: ContractHooks,
): void {
  describe(`Backend contract: ${name}`, () => {
    let backend: Backend;
    const paths = new Map<ContractModelKind, string>();
    const load = (kind: ContractModelKind, instances = 1) =>
      backend.load(contractSpec(kind, paths.get(kind)!, instances));

    before(async () => {
      backend = makeBackend();
      for (const kind of ['add-one', 'slow-add-one', 'bad-file'] as const)
        paths.set(kind, await makeModel(backend, kind));
    });
    after(() => backend.close());

    it('inspect returns the signature with -1 for the symbolic batch dim', async () => {
      // Backend.signature 'config': the config is the signature, so inspect must refuse, never guess.
      if (backend.signature === 'config') {
        await assert.rejects(backend.inspect(paths.get('add-one')!));
        return;
      }
      const io = await backend.inspect(paths.get('add-one')!);
      assert.deepEqual(io.inputs, [{ name: 'x', datatype: 'FP32', shape: [-1, 4] }]);
      assert.deepEqual(io.outputs, [{ name: 'y', datatype: 'FP32', shape: [-1, 4] }]);
    });

    it('load then execute returns correct outputs and a timing', async () => {
      const m = await load('add-one');
      try {
        assert.equal(m.instances.length, 1);
        assert.equal(m.instances[0]!.alive, true);
        const r = await m.instances[0]!.execute(x([1, 2, 3, 4, -1, -2, -3, -4]));
        assert.equal(r.outputs.length, 1);
        const y = r.outputs[0]!;
        assert.equal(y.name, 'y');
        assert.equal(y.datatype, 'FP32');
        assert.deepEqual(y.shape, [2, 4]);
        assert.deepEqual([...(y.data as Float32Array)], [2, 3, 4, 5, 0, -1, -2, -3]);
        for (const v of Object.values(r.timing)) assert.ok(Number.isFinite(v) && v >= 0);
        const only = await m.instances[0]!.execute(x([0, 0, 0, 0]), ['y']);
        assert.deepEqual(
          only.outputs.map((t) => t.name),
          ['y'],
        );
      } finally {
        await m.dispose();
      }
    });

    it('instances execute concurrently', async () => {
      const m = await load('slow-add-one', 2);
      try {
        const start = performance.now();
        const runs = m.instances.map((i) => i.execute(x([1, 1, 1, 1])));
        assert.deepEqual(
          m.instances.map((i) => i.inflight),
          [1, 1],
        );
        const results = await Promise.all(runs);
        const ms = performance.now() - start;
        for (const r of results) assert.deepEqual([...(r.outputs[0]!.data as Float32Array)], [2, 2, 2, 2]);
        assert.ok(ms >= SLOW_MS * 0.9, `ran in ${ms} ms, faster than one slow execution`);
        assert.ok(ms < SLOW_MS * 1.8, `two slow executions on two instances took ${ms} ms: not concurrent`);
      } finally {
        await m.dispose();
      }
    });

    it('dispose waits for in-flight requests; execute after dispose rejects', async () => {
      const m: LoadedModel = await load('slow-add-one');
      const inst = m.instances[0]!;
      let settled = false;
      const run = inst.execute(x([5, 5, 5, 5])).finally(() => {
        settled = true;
      });
      await m.dispose();
      assert.equal(settled, true, 'dispose resolved before the in-flight request settled');
      const r = await run;
      assert.deepEqual([...(r.outputs[0]!.data as Float32Array)], [6, 6, 6, 6]);
      await assert.rejects(inst.execute(x([1, 2, 3, 4])), (err) => err instanceof InferError);
      await m.dispose(); // idempotent
    });

    it('instance dispose is idempotent and stops only that instance', async () => {
      const m = await load('add-one', 2);
      try {
        const [i0, i1] = m.instances as [BackendInstance, BackendInstance];
        await Promise.all([i0.dispose(), i0.dispose()]);
        await i0.dispose();
        await assert.rejects(i0.execute(x([1, 2, 3, 4])), (err) => err instanceof InferError);
        const r = await i1.execute(x([1, 2, 3, 4]));
        assert.deepEqual([...(r.outputs[0]!.data as Float32Array)], [2, 3, 4, 5]);
      } finally {
        await m.dispose(); // after one instance was disposed on its own
      }
    });

    it('memoryBytes is positive and, for a model file, at least its size per instance', async () => {
      const one = await load('add-one', 1);
      const two = await load('add-one', 2);
      try {
        for (const m of [one, two]) assert.ok(Number.isInteger(m.memoryBytes) && m.memoryBytes > 0, `${m.memoryBytes}`);
        if (hooks.modelsAreFiles) {
          const file = statSync(paths.get('add-one')!).size;
          assert.ok(one.memoryBytes >= file, `memoryBytes ${one.memoryBytes} < model file ${file}`);
          assert.ok(two.memoryBytes >= 2 * file, `two instances report ${two.memoryBytes} < 2 × ${file}`);
        }
      } finally {
        await Promise.all([one.dispose(), two.dispose()]);
      }
    });

    it('instance events name the instance by model, version and index', async () => {
      const events = eventLog();
      const m = await backend.load(contractSpec('add-one', paths.get('add-one')!, 2), { onEvent: events.onEvent });
      try {
        hooks.crash(m.instances[1]!);
        const crash = await events.next('crash');
        assert.deepEqual(crash.instance, { model: 'add-one', version: 1, index: 1 });
        const restart = await events.next('restart');
        assert.deepEqual(restart.instance, { model: 'add-one', version: 1, index: 1 });
        const r = await m.instances[1]!.execute(x([0, 0, 0, 0]));
        assert.deepEqual([...(r.outputs[0]!.data as Float32Array)], [1, 1, 1, 1]);
      } finally {
        await m.dispose();
      }
    });

    it('a batch whose deadline has passed is rejected with IG_ERR_DEADLINE_EXCEEDED without running', async () => {
      const m = await load('add-one');
      try {
        const inst = m.instances[0]!;
        // These inputs make the model fail when it runs, so a deadline error shows it never ran.
        await assert.rejects(inst.execute(notX()), isCode('IG_ERR_MODEL_EXECUTION'));
        await assert.rejects(inst.execute(notX(), undefined, { deadline: Date.now() - 1 }), (err: unknown) => {
          isCode('IG_ERR_DEADLINE_EXCEEDED')(err);
          assert.equal((err as Error).message, 'request deadline exceeded before the model ran');
          return true;
        });
        if (inst.executeBatch)
          await assert.rejects(
            inst.executeBatch([notX(), notX()], undefined, { deadline: Date.now() - 1 }),
            isCode('IG_ERR_DEADLINE_EXCEEDED'),
          );
        assert.equal(inst.alive, true);
        const r = await inst.execute(x([1, 1, 1, 1]));
        assert.deepEqual([...(r.outputs[0]!.data as Float32Array)], [2, 2, 2, 2]);
      } finally {
        await m.dispose();
      }
    });

    it('the deadline is checked when the batch starts, not when it is handed over', async () => {
      const m = await load('slow-add-one');
      try {
        const inst = m.instances[0]!;
        const first = inst.execute(x([1, 1, 1, 1]));
        // Still ahead when handed over; passed by the time the slow batch before it is done.
        const queued = inst.execute(x([2, 2, 2, 2]), undefined, { deadline: Date.now() + SLOW_MS / 5 });
        await assert.rejects(queued, isCode('IG_ERR_DEADLINE_EXCEEDED'));
        assert.deepEqual([...((await first).outputs[0]!.data as Float32Array)], [2, 2, 2, 2]);
      } finally {
        await m.dispose();
      }
    });

    it('a batch whose deadline is ahead runs', async () => {
      const m = await load('add-one');
      try {
        const inst = m.instances[0]!;
        for (const deadline of [Date.now() + 60_000, Number.POSITIVE_INFINITY]) {
          const r = await inst.execute(x([1, 2, 3, 4]), undefined, { deadline });
          assert.deepEqual([...(r.outputs[0]!.data as Float32Array)], [2, 3, 4, 5]);
        }
        if (inst.executeBatch) {
          const r = await inst.executeBatch([x([1, 1, 1, 1]), x([2, 2, 2, 2])], undefined, {
            deadline: Date.now() + 60_000,
          });
          assert.deepEqual([...(r.outputs[0]!.data as Float32Array)], [2, 2, 2, 2, 3, 3, 3, 3]);
        }
      } finally {
        await m.dispose();
      }
    });

    it('load of a bad file rejects with IG_ERR_MODEL_LOAD without leaking the path', async () => {
      const path = paths.get('bad-file')!;
      await assert.rejects(load('bad-file'), isCode('IG_ERR_MODEL_LOAD', path));
      await assert.rejects(backend.inspect(path), isCode('IG_ERR_MODEL_LOAD', path));
    });

    it('load and inspect of a missing file reject with IG_ERR_MODEL_LOAD', async () => {
      const missing = `${paths.get('add-one')!}.missing`;
      await assert.rejects(backend.inspect(missing), isCode('IG_ERR_MODEL_LOAD', missing));
      await assert.rejects(backend.load(contractSpec('add-one', missing)), isCode('IG_ERR_MODEL_LOAD', missing));
    });
  });
}
