import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type Client, Metadata, status } from '@grpc/grpc-js';
import type { HealthCheckResponseSchema } from '../../../../src/gen/health_pb.js';
import { HealthCheckResponse_ServingStatus } from '../../../../src/gen/health_pb.js';
import { grpcError, type Harness, invoke, startHarness } from './harness.js';
import { modelFileFor, overriding } from '../real-services.js';

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(() => h.close());

describe('health and metadata rpcs', () => {
  it('ServerLive / ServerReady', async () => {
    assert.equal((await h.call('serverLive', {})).live, true);
    assert.equal((await h.call('serverReady', {})).ready, true);
    h.real.setServing(false); // shutdown began
    assert.equal((await h.call('serverReady', {})).ready, false);
    h.real.setServing(true);
  });

  it('grpc.health.v1.Health/Check follows readiness', async () => {
    const check = () => invoke<typeof HealthCheckResponseSchema>(h.health, 'check', { service: '' });
    assert.equal((await check()).status, HealthCheckResponse_ServingStatus.SERVING);
    h.real.setServing(false);
    assert.equal((await check()).status, HealthCheckResponse_ServingStatus.NOT_SERVING);
    h.real.setServing(true);
  });

  it('ModelReady: ready, not ready, unknown', async () => {
    assert.equal((await h.call('modelReady', { name: 'echo' })).ready, true);
    assert.equal((await h.call('modelReady', { name: 'echo', version: '1' })).ready, true);
    assert.equal((await h.call('modelReady', { name: 'notready' })).ready, false);
    assert.equal((await h.call('modelReady', { name: 'notready', version: '1' })).ready, false);
    const err = await grpcError(h.call('modelReady', { name: 'ghost' }));
    assert.equal(err.code, status.NOT_FOUND);
    assert.equal(err.details, "Request for unknown model: 'ghost' is not found");
    const version = await grpcError(h.call('modelReady', { name: 'echo', version: '9' }));
    assert.equal(version.code, status.NOT_FOUND);
    assert.equal(version.details, "Request for unknown model: 'echo' version 9 is not found");
  });

  it('ServerMetadata', async () => {
    const m = await h.call('serverMetadata', {});
    assert.equal(m.name, 'infergate');
    assert.equal(m.version, '0.1.0');
    assert.deepEqual(m.extensions, ['binary_tensor_data', 'statistics', 'model_repository']);
  });

  it('ModelMetadata with int64 shapes', async () => {
    const m = await h.call('modelMetadata', { name: 'echo' });
    assert.equal(m.platform, 'onnxruntime_onnx');
    assert.deepEqual(m.versions, ['1']);
    assert.deepEqual(
      m.inputs.map((t) => [t.name, t.datatype, t.shape]),
      [['INPUT0', 'FP32', [-1n, 16n]]],
    );
    assert.deepEqual(
      m.outputs.map((t) => [t.name, t.datatype, t.shape]),
      [['OUTPUT0', 'FP32', [-1n, 16n]]],
    );
    const err = await grpcError(h.call('modelMetadata', { name: 'echo', version: '9' }));
    assert.equal(err.code, status.NOT_FOUND);
  });

  it('ModelConfig converts Triton JSON to the ModelConfig message', async () => {
    const { config } = await h.call('modelConfig', { name: 'echo' });
    assert.ok(config);
    assert.equal(config.name, 'echo');
    assert.equal(config.maxBatchSize, 8);
    assert.equal(config.backend, 'onnxruntime');
    assert.equal(config.input[0]?.name, 'INPUT0');
    assert.deepEqual(config.input[0]?.dims, [16n]);
    assert.equal(config.output[0]?.dataType, 11, 'TYPE_FP32');
    assert.equal(config.instanceGroup[0]?.count, 2);
    assert.equal(config.schedulingChoice.case, 'dynamicBatching');
    assert.deepEqual(config.schedulingChoice.value?.preferredBatchSize, [4, 8]);
    const bytes = await h.call('modelConfig', { name: 'echo_bytes' });
    assert.equal(bytes.config?.output[0]?.dataType, 13, 'TYPE_STRING');
    const err = await grpcError(h.call('modelConfig', { name: 'ghost' }));
    assert.equal(err.code, status.NOT_FOUND);
  });

  it('ModelConfig tolerates config keys the message does not carry', async () => {
    // Every real config holds only known keys; a wrapper adds one, as a newer router might.
    const local = await startHarness({}, (s) => ({
      ...s,
      inference: overriding(s.inference, {
        modelConfig: (m: string, v?: string) => ({ ...s.inference.modelConfig(m, v), some_future_field: { x: 1 } }),
      }),
    }));
    try {
      const { config } = await local.call('modelConfig', { name: 'echo' });
      assert.equal(config?.name, 'echo');
      assert.equal(config?.maxBatchSize, 8);
    } finally {
      await local.close();
    }
  });

  it('ModelStatistics keeps uint64 nanoseconds exact', async () => {
    // The router's own counters, fed as a long-running server would have fed them: three batches
    // of 4 whose request-time sum passes 2^53.
    const v = h.real.stats.get('echo', 1);
    const t = { inputNs: 0, inferNs: 33, outputNs: 0 };
    for (const ns of [2 ** 52 + 1, 2 ** 52 + 2, 2 ** 52 + 4]) {
      v.success(1_700_000_000_000, ns, 1234, 4, t);
      v.execution(4, t);
    }
    const res = await h.call('modelStatistics', { name: 'echo' });
    const s = res.modelStats[0];
    assert.ok(s);
    assert.equal(s.name, 'echo');
    assert.equal(s.version, '1');
    assert.equal(s.inferenceCount, 12n);
    assert.equal(s.executionCount, 3n);
    assert.equal(s.lastInference, 1_700_000_000_000n);
    assert.equal(s.inferenceStats?.success?.ns, 3n * 2n ** 52n + 7n);
    assert.equal(s.inferenceStats?.success?.count, 3n);
    assert.equal(s.inferenceStats?.queue?.ns, 3n * 1234n);
    assert.equal(s.batchStats[0]?.batchSize, 4n);
    assert.equal(s.batchStats[0]?.computeInfer?.ns, 99n);
    assert.equal(s.batchStats[0]?.computeInfer?.count, 3n);
    const all = (await h.call('modelStatistics', {})).modelStats;
    assert.equal(all.length, (await h.call('repositoryIndex', { ready: true })).models.length, 'one per READY version');
    assert.ok(all.some((x) => x.name === 'echo'));
    const err = await grpcError(h.call('modelStatistics', { name: 'ghost' }));
    assert.equal(err.code, status.NOT_FOUND);
  });

  it('ModelStatistics counts real inferences', async () => {
    const before = (await h.call('modelStatistics', { name: 'echo_int32', version: '1' })).modelStats[0];
    const input = { name: 'INPUT0', datatype: 'INT32', shape: [2n], contents: { intContents: [1, 2] } };
    await h.call('modelInfer', { modelName: 'echo_int32', inputs: [input] });
    await h.call('modelInfer', { modelName: 'echo_int32', inputs: [input] });
    const after = (await h.call('modelStatistics', { name: 'echo_int32', version: '1' })).modelStats[0];
    assert.equal((after?.inferenceCount ?? 0n) - (before?.inferenceCount ?? 0n), 2n);
    assert.equal((after?.executionCount ?? 0n) - (before?.executionCount ?? 0n), 2n);
    assert.equal((after?.inferenceStats?.success?.count ?? 0n) - (before?.inferenceStats?.success?.count ?? 0n), 2n);
  });
});

describe('repository rpcs', () => {
  it('RepositoryIndex lists entries, ready filter passes through', async () => {
    const all = await h.call('repositoryIndex', {});
    const rows = (name: string) =>
      all.models.filter((m) => m.name === name).map((m) => [m.name, m.version, m.state, m.reason]);
    assert.deepEqual(rows('echo'), [['echo', '1', 'READY', '']]);
    assert.deepEqual(rows('never_loaded'), [['never_loaded', '', '', '']]);
    assert.deepEqual(rows('notready'), [['notready', '1', 'UNAVAILABLE', 'unloaded']]);
    const names = all.models.map((m) => m.name);
    assert.deepEqual(names, [...names].sort(), 'sorted by name');
    const ready = (await h.call('repositoryIndex', { ready: true })).models;
    assert.ok(ready.length > 0);
    assert.ok(ready.every((m) => m.state === 'READY'));
    assert.equal(ready.length, all.models.filter((m) => m.state === 'READY').length);
  });

  it('repository_name is not supported', async () => {
    const err = await grpcError(h.call('repositoryIndex', { repositoryName: 'other' }));
    assert.equal(err.code, status.UNIMPLEMENTED);
    assert.match(err.details, /repository_name/);
  });

  it('RepositoryModelLoad passes config and raw file bytes', async () => {
    await grpcError(h.call('modelReady', { name: 'm' })).then((e) => assert.equal(e.code, status.NOT_FOUND));
    await h.call('repositoryModelLoad', {
      modelName: 'm',
      parameters: {
        config: { parameterChoice: { case: 'stringParam', value: '{"backend":"onnxruntime"}' } },
        'file:1/model.onnx': { parameterChoice: { case: 'bytesParam', value: modelFileFor('m') } },
      },
    });
    // The raw bytes reached the backend intact: 'm' serves the signature its file describes.
    assert.equal(h.real.backend.loads.at(-1)?.model, 'm');
    assert.equal((await h.call('modelReady', { name: 'm' })).ready, true);
    const meta = await h.call('modelMetadata', { name: 'm' });
    assert.deepEqual(
      meta.inputs.map((t) => [t.name, t.datatype, t.shape]),
      [['INPUT0', 'INT32', [2n]]],
    );
    const { config } = await h.call('modelConfig', { name: 'm' });
    assert.equal(config?.backend, 'onnxruntime');
  });

  it('RepositoryModelLoad rejects wrongly typed parameters and reports load failures', async () => {
    let err = await grpcError(
      h.call('repositoryModelLoad', {
        modelName: 'm',
        parameters: { config: { parameterChoice: { case: 'bytesParam', value: new Uint8Array(1) } } },
      }),
    );
    assert.equal(err.code, status.INVALID_ARGUMENT);
    err = await grpcError(
      h.call('repositoryModelLoad', {
        modelName: 'm',
        parameters: { 'file:1/model.onnx': { parameterChoice: { case: 'stringParam', value: 'AAAA' } } },
      }),
    );
    assert.equal(err.code, status.INVALID_ARGUMENT);
    assert.match(err.details, /bytes_param/);
    err = await grpcError(h.call('repositoryModelLoad', { modelName: 'unloadable' }));
    assert.equal(err.code, status.INVALID_ARGUMENT);
    assert.match(err.details, /version 1 is broken on purpose/);
    assert.ok(!err.details.includes(h.real.root), `no repository paths in '${err.details}'`);
    err = await grpcError(h.call('repositoryModelLoad', { modelName: 'ghost' }));
    assert.equal(err.code, status.NOT_FOUND);
    // Back to a ready server for the tests after this one: the failed model is not wanted any more.
    await h.call('repositoryModelUnload', { modelName: 'unloadable' });
  });

  it('RepositoryModelUnload with unload_dependents', async () => {
    assert.equal((await h.call('modelReady', { name: 'a' })).ready, true);
    await h.call('repositoryModelUnload', { modelName: 'a' });
    await h.call('repositoryModelUnload', {
      modelName: 'b',
      parameters: { unload_dependents: { parameterChoice: { case: 'boolParam', value: true } } },
    });
    assert.equal((await h.call('modelReady', { name: 'a' })).ready, false);
    assert.equal((await h.call('modelReady', { name: 'b' })).ready, false);
    const err = await grpcError(
      h.call('repositoryModelUnload', {
        modelName: 'echo',
        parameters: { unload_dependents: { parameterChoice: { case: 'stringParam', value: 'yes' } } },
      }),
    );
    assert.equal(err.code, status.INVALID_ARGUMENT);
    assert.match(err.details, /unload_dependents/);
    assert.equal((await h.call('modelReady', { name: 'echo' })).ready, true, 'a refused unload changes nothing');
    assert.equal((await h.call('serverReady', {})).ready, true, 'unloaded models are not wanted: still ready');
  });
});

describe('shared memory rpcs (system shared memory: shared-memory.test.ts)', () => {
  it('CUDA is declined gracefully: status → empty, unregister → OK, register → UNIMPLEMENTED', async () => {
    assert.deepEqual((await h.call('cudaSharedMemoryStatus', { name: 'r' })).regions, {});
    await h.call('cudaSharedMemoryUnregister', { name: 'r' });
    await h.call('cudaSharedMemoryUnregister', {});
    const err = await grpcError(h.call('cudaSharedMemoryRegister', { name: 'r', byteSize: 64n }));
    assert.equal(err.code, status.UNIMPLEMENTED);
    assert.equal(err.details, 'CUDA shared memory is not supported by this server');
  });

  it('system: none registered at start; unregister-all with none is OK; a key naming no object is refused', async () => {
    assert.deepEqual((await h.call('systemSharedMemoryStatus', {})).regions, {});
    await h.call('systemSharedMemoryUnregister', {});
    const err = await grpcError(h.call('systemSharedMemoryRegister', { name: 'r', key: '/../etc', byteSize: 64n }));
    assert.equal(err.code, status.INVALID_ARGUMENT);
    assert.match(err.details, /^Unable to open shared memory region: '\/\.\.\/etc'/);
  });
});

describe('trace and log settings', () => {
  it("TraceSetting: Triton's defaults with trace_level OFF, model overrides, validation", async () => {
    const res = await h.call('traceSetting', {});
    assert.deepEqual(res.settings['trace_level']?.value, ['OFF']);
    assert.deepEqual(res.settings['trace_rate']?.value, ['1000']);
    const upd = await h.call('traceSetting', { modelName: 'echo', settings: { trace_rate: { value: ['5'] } } });
    assert.deepEqual(upd.settings['trace_rate']?.value, ['5']);
    const model = await h.call('traceSetting', { modelName: 'echo' });
    assert.deepEqual(model.settings['trace_rate']?.value, ['5']);
    const global = await h.call('traceSetting', {});
    assert.deepEqual(global.settings['trace_rate']?.value, ['1000'], "the override is the model's only");
    const cleared = await h.call('traceSetting', { modelName: 'echo', settings: { trace_rate: { value: [] } } });
    assert.deepEqual(cleared.settings['trace_rate']?.value, ['1000'], 'an empty list clears the override');
    let err = await grpcError(h.call('traceSetting', { settings: { bogus: { value: ['1'] } } }));
    assert.equal(err.code, status.INVALID_ARGUMENT);
    err = await grpcError(h.call('traceSetting', { modelName: 'ghost' }));
    assert.equal(err.code, status.NOT_FOUND);
  });

  it('LogSettings reads and updates through the service', async () => {
    const got = await h.call('logSettings', {});
    assert.deepEqual(got.settings['log_info']?.parameterChoice, { case: 'boolParam', value: true });
    assert.deepEqual(got.settings['log_verbose_level']?.parameterChoice, { case: 'uint32Param', value: 0 });
    assert.deepEqual(got.settings['log_format']?.parameterChoice, { case: 'stringParam', value: 'default' });
    const upd = await h.call('logSettings', {
      settings: {
        log_verbose_level: { parameterChoice: { case: 'uint32Param', value: 2 } },
        log_info: { parameterChoice: { case: 'boolParam', value: false } },
      },
    });
    assert.deepEqual(upd.settings['log_verbose_level']?.parameterChoice, { case: 'uint32Param', value: 2 });
    assert.deepEqual(upd.settings['log_info']?.parameterChoice, { case: 'boolParam', value: false });
    const err = await grpcError(
      h.call('logSettings', { settings: { nope: { parameterChoice: { case: 'boolParam', value: true } } } }),
    );
    assert.equal(err.code, status.INVALID_ARGUMENT);
  });
});

describe('transport', () => {
  it('a malformed protobuf message → INVALID_ARGUMENT', async () => {
    const client = h.client as Client;
    const err = await grpcError(
      new Promise((resolve, reject) => {
        client.makeUnaryRequest(
          '/inference.GRPCInferenceService/ModelInfer',
          (b: Buffer) => b,
          (b: Buffer) => b,
          Buffer.from([0x0a, 0xff, 0xff, 0xff, 0x0f]),
          new Metadata(),
          {},
          (e, v) => (e ? reject(e) : resolve(v)),
        );
      }),
    );
    assert.equal(err.code, status.INVALID_ARGUMENT);
    assert.match(err.details, /malformed inference.ModelInferRequest/);
  });

  it('an unknown method → UNIMPLEMENTED', async () => {
    const err = await grpcError(
      new Promise((resolve, reject) => {
        (h.client as Client).makeUnaryRequest(
          '/inference.GRPCInferenceService/NoSuchRpc',
          (b: Buffer) => b,
          (b: Buffer) => b,
          Buffer.alloc(0),
          (e, v) => (e ? reject(e) : resolve(v)),
        );
      }),
    );
    assert.equal(err.code, status.UNIMPLEMENTED);
  });
});
