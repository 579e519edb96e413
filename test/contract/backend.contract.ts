/**
 * The Backend contract, run against every implementation (architecture rule 3).
 * `makeModel(backend, kind)` returns a path the backend can load:
 *   'add-one'      y = x + 1, FP32, signature x/y [-1, 4] (symbolic batch dim)
 *   'slow-add-one' the same, but every execution takes at least SLOW_MS in its instance
 *   'bad-file'     something that is not a model (load and inspect must fail cleanly)
 * The spec's model name is the kind, so a backend may key test behaviour on it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { InferError, type ModelVersionSpec } from '../../src/core/index.js';
import type { Backend, LoadedModel } from '../../src/backend/types.js';
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
    execution: { ...DEFAULT_EXECUTION, executionProviders: ['cpu'] },
  };
}

function x(values: number[]) {
  return [{ name: 'x', datatype: 'FP32' as const, shape: [values.length / 4, 4], data: new Float32Array(values) }];
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
