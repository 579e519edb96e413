import assert from 'node:assert/strict';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { getPriority } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { OrtBackend, type OrtInstance } from '../../../src/backend/ort/index.js';
import type { InstanceEvent } from '../../../src/backend/types.js';
import { type DataType, InferError, type ModelVersionSpec, type Tensor } from '../../../src/core/index.js';
import { contractSpec } from '../../contract/backend.contract.js';
import { addOneModel, buildModel, type IoDef, matMulModel, writeModel } from './models.js';
import { crashInput, hangInput, nextEvent, sleepInput } from './test-hooks.js';

process.env['INFERGATE_TEST_HOOKS'] = '1';

const backend = new OrtBackend({ restartDelaysMs: [0, 30] });
/** Every instance on a thread of its own (no shared pool). */
const dedicated = new OrtBackend({ restartDelaysMs: [0, 30], sharedWorkers: 0 });
after(() => Promise.all([backend.close(), dedicated.close()]));

const ROUND_TRIP: Array<[DataType, Tensor['data']]> = [
  ['BOOL', new Uint8Array([1, 0, 1])],
  ['INT8', new Int8Array([-128, 0, 127])],
  ['INT16', new Int16Array([-32768, 1, 32767])],
  ['INT32', new Int32Array([-2147483648, 2, 2147483647])],
  ['INT64', new BigInt64Array([-(2n ** 63n), 3n, 2n ** 63n - 1n])],
  ['UINT8', new Uint8Array([0, 128, 255])],
  ['UINT16', new Uint16Array([0, 1, 65535])],
  ['UINT32', new Uint32Array([0, 1, 4294967295])],
  ['UINT64', new BigUint64Array([0n, 1n, 2n ** 64n - 1n])],
  ['FP16', new Uint16Array([0x3c00, 0xc000, 0x7bff])],
  ['FP32', new Float32Array([1.5, -0, Number.POSITIVE_INFINITY])],
  ['FP64', new Float64Array([Math.PI, -1e300, 5e-324])],
  ['BYTES', ['', 'héllo wörld', '日本'].map((s) => new TextEncoder().encode(s))],
];

function spec(model: string, path: string, over: Partial<ModelVersionSpec> = {}): ModelVersionSpec {
  return { ...contractSpec('add-one', path), model, ...over };
}

function fp32(values: number[]): Tensor {
  return { name: 'x', datatype: 'FP32', shape: [values.length / 4, 4], data: new Float32Array(values) };
}

/** A model with one Identity per ROUND_TRIP datatype: y_<DT> = x_<DT>, shape [N, 3]. */
function identityModel(): string {
  const ios: IoDef[] = ROUND_TRIP.map(([dt]) => ({ name: `x_${dt}`, datatype: dt, shape: ['N', 3] }));
  return writeModel(
    buildModel({
      inputs: ios,
      outputs: ios.map((io) => ({ ...io, name: io.name.replace('x_', 'y_') })),
      nodes: ios.map((io) => ({ op: 'Identity', inputs: [io.name], outputs: [io.name.replace('x_', 'y_')] })),
    }),
  );
}

describe('OrtBackend', () => {
  it('round-trips every datatype through Identity', async () => {
    const path = identityModel();
    const io = await backend.inspect(path);
    assert.deepEqual(
      io.inputs.map((i) => i.datatype),
      ROUND_TRIP.map(([dt]) => dt),
    );
    const m = await backend.load(spec('identity', path, { inputs: [], outputs: [] }));
    try {
      // Inputs are copies: execute transfers (detaches) owned buffers.
      const copy = (d: Tensor['data']) => (Array.isArray(d) ? d.map((e) => e.slice()) : d.slice());
      const inputs = ROUND_TRIP.map(([dt, data]) => ({
        name: `x_${dt}`,
        datatype: dt,
        shape: [1, 3],
        data: copy(data),
      }));
      const r = await m.instances[0]!.execute(inputs);
      for (const [dt, data] of ROUND_TRIP) {
        const y = r.outputs.find((t) => t.name === `y_${dt}`)!;
        assert.equal(y.datatype, dt);
        assert.deepEqual(y.shape, [1, 3]);
        if (Array.isArray(data))
          assert.deepEqual(
            (y.data as Uint8Array[]).map((e) => [...e]),
            data.map((e) => [...e]),
          );
        else {
          assert.equal(y.data.constructor, data.constructor, `${dt} array type`);
          assert.deepEqual([...(y.data as Uint8Array)], [...(data as Uint8Array)], dt);
        }
      }
    } finally {
      await m.dispose();
    }
  });

  it('executeBatch joins the requests’ rows in the worker, every datatype, in request order', async () => {
    const path = identityModel();
    const m = await backend.load(spec('identity-rows', path, { inputs: [], outputs: [] }));
    try {
      // Request r sends rows r times: 1 + 2 + 1 rows, each row being the sample's 3 elements.
      const times = [1, 2, 1];
      const rowsOf = (data: Tensor['data'], n: number): Tensor['data'] =>
        Array.isArray(data)
          ? Array.from({ length: n }, () => data.map((e) => e.slice())).flat()
          : (() => {
              const out = new (data.constructor as new (len: number) => Uint8Array)(data.length * n);
              for (let i = 0; i < n; i++) out.set(data as Uint8Array, i * data.length);
              return out as Tensor['data'];
            })();
      const requests = times.map((n) =>
        ROUND_TRIP.map(([dt, data]) => ({ name: `x_${dt}`, datatype: dt, shape: [n, 3], data: rowsOf(data, n) })),
      );
      const sent = requests[0]![0]!.data as Uint8Array;
      const r = await m.instances[0]!.executeBatch!(requests);
      assert.equal(sent.byteLength, 0, 'the request’s own buffer moved to the worker');
      for (const [dt, data] of ROUND_TRIP) {
        const y = r.outputs.find((t) => t.name === `y_${dt}`)!;
        assert.deepEqual(y.shape, [4, 3], dt);
        const expected = rowsOf(data, 4);
        if (Array.isArray(expected))
          assert.deepEqual(
            (y.data as Uint8Array[]).map((e) => [...e]),
            expected.map((e) => [...e]),
          );
        else assert.deepEqual([...(y.data as Uint8Array)], [...(expected as Uint8Array)], dt);
      }
      await assert.rejects(
        m.instances[0]!.executeBatch!([
          [fp32([1, 2, 3, 4])],
          [{ name: 'x', datatype: 'FP32', shape: [1, 2], data: new Float32Array(2) }],
        ]),
        (e: InferError) => e.code === 'IG_ERR_INVALID_ARG',
      );
    } finally {
      await m.dispose();
    }
  });

  it('queues several requests on one instance and matches replies by id; transfers owned buffers only', async () => {
    const m = await backend.load(spec('queue', writeModel(addOneModel(4))));
    try {
      const inst = m.instances[0]!;
      const owned = new Float32Array([1, 2, 3, 4]);
      const big = new Float32Array(12).fill(7);
      const view = big.subarray(4, 8); // does not own its buffer: copied once, the caller's data stays
      const runs = [0, 1, 2, 3, 4].map((k) => inst.execute([fp32([k, k, k, k])]));
      const a = inst.execute([{ ...fp32([]), shape: [1, 4], data: owned }]);
      const b = inst.execute([{ ...fp32([]), shape: [1, 4], data: view }]);
      assert.equal(inst.inflight, 7);
      const results = await Promise.all(runs);
      for (const [k, r] of results.entries())
        assert.deepEqual([...(r.outputs[0]!.data as Float32Array)], [k + 1, k + 1, k + 1, k + 1]);
      assert.deepEqual([...((await a).outputs[0]!.data as Float32Array)], [2, 3, 4, 5]);
      assert.deepEqual([...((await b).outputs[0]!.data as Float32Array)], [8, 8, 8, 8]);
      assert.equal(owned.byteLength, 0, 'an owned buffer is transferred, not copied');
      assert.equal(big[5], 7);
      assert.equal(inst.inflight, 0);
      // Re-sending a transferred (detached) buffer is refused up front, not lost in the worker.
      await assert.rejects(inst.execute([{ ...fp32([]), shape: [1, 4], data: owned }]), (err: unknown) => {
        return err instanceof InferError && err.code === 'IG_ERR_INVALID_ARG';
      });
    } finally {
      await m.dispose();
    }
  });

  it('maps a model error to IG_ERR_MODEL_EXECUTION with a clean message', async () => {
    const path = writeModel(addOneModel(4));
    const m = await backend.load(spec('bad-shape', path));
    try {
      const wrong: Tensor = { name: 'x', datatype: 'FP32', shape: [1, 3], data: new Float32Array(3) };
      await assert.rejects(m.instances[0]!.execute([wrong]), (err: unknown) => {
        assert.ok(err instanceof InferError);
        assert.equal(err.code, 'IG_ERR_MODEL_EXECUTION');
        assert.match(err.message, /dimensions/);
        assert.ok(!err.message.includes(dirname(path)));
        return true;
      });
      assert.equal(m.instances[0]!.alive, true);
    } finally {
      await m.dispose();
    }
  });

  it('a crash fails only that instance’s in-flight requests, then the instance comes back', async () => {
    const events: InstanceEvent[] = [];
    const m = await backend.load(spec('crashy', writeModel(addOneModel(4)), { instances: 2 }), {
      onEvent: (e) => events.push(e),
    });
    try {
      const [i0, i1] = m.instances as [OrtInstance, OrtInstance];
      const other = i1.execute([fp32([1, 1, 1, 1]), sleepInput(150)]);
      const doomed = i0.execute([fp32([1, 1, 1, 1]), sleepInput(50), crashInput()]);
      const queued = i0.execute([fp32([2, 2, 2, 2])]);
      const crashed = (err: unknown) => err instanceof InferError && err.code === 'IG_ERR_WORKER_CRASHED';
      await assert.rejects(doomed, crashed);
      await assert.rejects(queued, crashed);
      assert.match(
        String(await doomed.catch((e: Error) => e.message)),
        /model instance 'crashy_1_0' crashed while executing the request; it is being restarted/,
      );
      assert.deepEqual([...((await other).outputs[0]!.data as Float32Array)], [2, 2, 2, 2]);
      const crash = await nextEvent(events, 'crash');
      assert.deepEqual(
        { ...crash, reason: '' },
        { type: 'crash', instance: { model: 'crashy', version: 1, index: 0 }, reason: '', failedRequests: 2 },
      );
      if (!i0.alive) {
        const t = performance.now();
        // It never reached a worker: a retryable 503, not the 500 of a crash mid-run.
        await assert.rejects(i0.execute([fp32([1, 1, 1, 1])]), { code: 'IG_ERR_UNAVAILABLE' });
        assert.ok(performance.now() - t < 50, 'execute on a dead instance rejects promptly');
      }
      await nextEvent(events, 'restart');
      assert.equal(i0.alive, true);
      assert.deepEqual([...((await i0.execute([fp32([3, 3, 3, 3])])).outputs[0]!.data as Float32Array)], [4, 4, 4, 4]);
    } finally {
      await m.dispose();
    }
  });

  it('gives up restarting after bounded retries (restart-failed) when the model file is gone', async () => {
    const events: InstanceEvent[] = [];
    const path = writeModel(addOneModel(4));
    const m = await backend.load(spec('gone', path), { onEvent: (e) => events.push(e) });
    try {
      rmSync(path);
      (m.instances[0] as OrtInstance).crashForTest();
      const failed = await nextEvent(events, 'restart-failed');
      assert.match((failed as { reason: string }).reason, /2 attempts: model file not found/);
      await assert.rejects(m.instances[0]!.execute([fp32([1, 1, 1, 1])]), /could not be restarted/);
    } finally {
      await m.dispose();
    }
  });

  it('keeps the event loop responsive while a heavy model runs', async () => {
    const m = await backend.load(spec('heavy', writeModel(matMulModel(512)), { inputs: [], outputs: [] }));
    try {
      const x: () => Tensor = () => ({
        name: 'x',
        datatype: 'FP32',
        shape: [256, 512],
        data: new Float32Array(256 * 512).fill(0.5),
      });
      // Not a timed bound (the machine is shared): a timer tick can only land while a run is in
      // flight if the run is not on this thread — a synchronous session.run() here would let none
      // through, since its promise's continuation runs before any timer.
      let running = false;
      let ticksDuringRuns = 0;
      const timer = setInterval(() => {
        if (running) ticksDuringRuns++;
      }, 2);
      const start = performance.now();
      let runs = 0;
      let inferMs = 0;
      while (performance.now() - start < 1500) {
        running = true;
        const r = await m.instances[0]!.execute([x()]);
        running = false;
        inferMs += r.timing.inferNs / 1e6;
        runs++;
      }
      clearInterval(timer);
      assert.ok(inferMs > 500, `model ran ${inferMs} ms in ${runs} runs: too light to prove anything`);
      // Measured here: about 1.5 ticks a run; a run on this thread would let exactly 0 through.
      assert.ok(ticksDuringRuns >= runs / 10, `only ${ticksDuringRuns} timer ticks during ${runs} runs`);
    } finally {
      await m.dispose();
    }
  });

  it('runs each instance at the configured nice value, leaving the event-loop thread alone', async () => {
    // Linux keeps nice per thread; elsewhere the setting is best effort and not observable here.
    if (process.platform !== 'linux') return;
    const niceOf = () =>
      readdirSync('/proc/self/task').map((t) =>
        Number(readFileSync(`/proc/self/task/${t}/stat`, 'utf8').split(') ')[1]!.split(' ')[16]),
      );
    const before = niceOf().filter((n) => n === 7).length;
    const base = contractSpec('add-one', '');
    const m = await backend.load(
      spec('niced', writeModel(addOneModel(4)), { instances: 2, execution: { ...base.execution, niceness: 7 } }),
    );
    try {
      assert.equal(niceOf().filter((n) => n === 7).length - before, 2, 'one niced thread per instance');
      assert.equal(getPriority(0), 0, 'the event-loop thread keeps its priority');
      const out = await m.instances[0]!.execute([fp32([1, 2, 3, 4])]);
      assert.deepEqual([...(out.outputs[0]!.data as Float32Array)], [2, 3, 4, 5]);
    } finally {
      await m.dispose();
    }
  });

  it('runs configured warm-up samples (zero, random, file) before load resolves', async () => {
    const path = writeModel(addOneModel(4));
    const file = join(dirname(path), 'warm.bin');
    writeFileSync(file, new Uint8Array(new Float32Array(8).fill(1).buffer));
    const warmup: ModelVersionSpec['warmup'] = (['zero', 'random', 'file'] as const).map((kind) => ({
      name: kind,
      batchSize: 2,
      count: 2,
      inputs: [{ name: 'x', datatype: 'FP32', dims: [4], kind, ...(kind === 'file' ? { file } : {}) }],
    }));
    const m = await backend.load(spec('warm', path, { warmup }));
    await m.dispose();
  });

  it('warm-up failure rejects load with IG_ERR_MODEL_LOAD and stops every worker or session', async () => {
    const path = writeModel(addOneModel(4));
    const before = dedicated.activeWorkers;
    const sessionsBefore = backend.sharedSessions;
    const warmup: ModelVersionSpec['warmup'] = [
      { name: 'wrong', batchSize: 1, count: 1, inputs: [{ name: 'x', datatype: 'FP32', dims: [5], kind: 'zero' }] },
    ];
    const refused = (err: unknown) => {
      assert.ok(err instanceof InferError);
      assert.equal(err.code, 'IG_ERR_MODEL_LOAD');
      assert.match(err.message, /^failed to load model 'warmfail' version 1: warm-up sample 'wrong' failed: /);
      assert.ok(!err.message.includes(dirname(path)));
      return true;
    };
    await assert.rejects(dedicated.load(spec('warmfail', path, { warmup, instances: 2 })), refused);
    for (let i = 0; i < 100 && dedicated.activeWorkers > before; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(dedicated.activeWorkers, before);
    await assert.rejects(backend.load(spec('warmfail', path, { warmup, instances: 2 })), refused);
    assert.equal(backend.sharedSessions, sessionsBefore);
  });

  it('falls back to cpu with a warning event when a provider is unavailable', async () => {
    const events: InstanceEvent[] = [];
    const base = spec('ep', writeModel(addOneModel(4)));
    const m = await backend.load(
      { ...base, execution: { ...base.execution, cpuAccelerators: ['no-such-ep'] } },
      {
        onEvent: (e) => events.push(e),
      },
    );
    await m.dispose();
    assert.equal(events.length, 1);
    assert.equal(events[0]!.type, 'warning');
    assert.deepEqual(events[0]!.instance, { model: 'ep', version: 1, index: 0 });
    assert.match((events[0] as { message: string }).message, /no-such-ep/);
  });

  it('refuses a malformed onnxruntime parameter before starting any worker', async () => {
    const before = backend.activeWorkers;
    const base = spec('badparam', writeModel(addOneModel(4)));
    const execution = { ...base.execution, parameters: { inter_op_thread_count: 'many' } };
    await assert.rejects(backend.load({ ...base, execution }), (err: unknown) => {
      assert.ok(err instanceof InferError);
      assert.equal(err.code, 'IG_ERR_MODEL_LOAD');
      assert.equal(
        err.message,
        "failed to load 'badparam': parameter 'inter_op_thread_count' must be a non-negative integer, got 'many'",
      );
      return true;
    });
    assert.equal(backend.activeWorkers, before);
  });

  it('ignores test-hook inputs when INFERGATE_TEST_HOOKS is not set', async () => {
    delete process.env['INFERGATE_TEST_HOOKS'];
    const m = await backend.load(spec('nohooks', writeModel(addOneModel(4)))).finally(() => {
      process.env['INFERGATE_TEST_HOOKS'] = '1';
    });
    try {
      const inst = m.instances[0] as OrtInstance;
      inst.crashForTest();
      // onnxruntime ignores feeds that are not model inputs, so the crash and hang inputs are inert.
      const r = await inst.execute([fp32([1, 1, 1, 1]), crashInput()]);
      assert.deepEqual([...(r.outputs[0]!.data as Float32Array)], [2, 2, 2, 2]);
      const h = await inst.execute([fp32([2, 2, 2, 2]), hangInput()]);
      assert.deepEqual([...(h.outputs[0]!.data as Float32Array)], [3, 3, 3, 3]);
      assert.equal(inst.alive, true);
    } finally {
      await m.dispose();
    }
  });
});
