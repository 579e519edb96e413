import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type Client, Metadata, status } from '@grpc/grpc-js';
import type { HealthCheckResponseSchema } from '../../../../src/gen/health_pb.js';
import { HealthCheckResponse_ServingStatus } from '../../../../src/gen/health_pb.js';
import { bigStats } from './fake-service.js';
import { grpcError, type Harness, invoke, startHarness } from './harness.js';

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(() => h.close());

describe('health and metadata rpcs', () => {
  it('ServerLive / ServerReady', async () => {
    assert.equal((await h.call('serverLive', {})).live, true);
    assert.equal((await h.call('serverReady', {})).ready, true);
    h.fake.isReady = false;
    assert.equal((await h.call('serverReady', {})).ready, false);
    h.fake.isReady = true;
  });

  it('grpc.health.v1.Health/Check follows readiness', async () => {
    const check = () => invoke<typeof HealthCheckResponseSchema>(h.health, 'check', { service: '' });
    assert.equal((await check()).status, HealthCheckResponse_ServingStatus.SERVING);
    h.fake.isReady = false;
    assert.equal((await check()).status, HealthCheckResponse_ServingStatus.NOT_SERVING);
    h.fake.isReady = true;
  });

  it('ModelReady: ready, not ready, unknown', async () => {
    assert.equal((await h.call('modelReady', { name: 'echo' })).ready, true);
    assert.equal((await h.call('modelReady', { name: 'echo', version: '1' })).ready, true);
    assert.equal((await h.call('modelReady', { name: 'notready' })).ready, false);
    const err = await grpcError(h.call('modelReady', { name: 'ghost' }));
    assert.equal(err.code, status.NOT_FOUND);
    assert.equal(err.details, "Request for unknown model: 'ghost' is not found");
  });

  it('ServerMetadata', async () => {
    const m = await h.call('serverMetadata', {});
    assert.equal(m.name, 'infergate');
    assert.deepEqual(m.extensions, ['classification', 'model_repository']);
  });

  it('ModelMetadata with int64 shapes', async () => {
    const m = await h.call('modelMetadata', { name: 'echo' });
    assert.equal(m.platform, 'onnxruntime_onnx');
    assert.deepEqual(m.versions, ['1']);
    assert.deepEqual(
      m.inputs.map((t) => [t.name, t.datatype, t.shape]),
      [['INPUT0', 'FP32', [-1n, 16n]]],
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
    assert.equal(config.output[0]?.dataType, 13, 'TYPE_STRING');
    assert.equal(config.instanceGroup[0]?.count, 2);
    assert.equal(config.schedulingChoice.case, 'dynamicBatching');
    const err = await grpcError(h.call('modelConfig', { name: 'ghost' }));
    assert.equal(err.code, status.NOT_FOUND);
  });

  it('ModelStatistics keeps uint64 nanoseconds exact', async () => {
    h.fake.stats = [bigStats('echo')];
    const res = await h.call('modelStatistics', { name: 'echo' });
    const s = res.modelStats[0];
    assert.ok(s);
    assert.equal(s.name, 'echo');
    assert.equal(s.inferenceCount, 12n);
    assert.equal(s.executionCount, 3n);
    assert.equal(s.lastInference, 1_700_000_000_000n);
    assert.equal(s.inferenceStats?.success?.ns, 2n ** 60n + 7n);
    assert.equal(s.inferenceStats?.queue?.count, 12n);
    assert.equal(s.batchStats[0]?.batchSize, 4n);
    assert.equal(s.batchStats[0]?.computeInfer?.ns, 99n);
    assert.equal(s.memoryUsage[0]?.byteSize, 1024n);
    assert.equal((await h.call('modelStatistics', {})).modelStats.length, 1);
    const err = await grpcError(h.call('modelStatistics', { name: 'ghost' }));
    assert.equal(err.code, status.NOT_FOUND);
  });
});

describe('repository rpcs', () => {
  it('RepositoryIndex lists entries, ready filter passes through', async () => {
    const all = await h.call('repositoryIndex', {});
    assert.deepEqual(
      all.models.map((m) => [m.name, m.version, m.state, m.reason]),
      [
        ['echo', '1', 'READY', ''],
        ['never_loaded', '', '', ''],
        ['bad', '1', 'UNAVAILABLE', 'load failed'],
      ],
    );
    assert.equal((await h.call('repositoryIndex', { ready: true })).models.length, 1);
  });

  it('repository_name is not supported', async () => {
    const err = await grpcError(h.call('repositoryIndex', { repositoryName: 'other' }));
    assert.equal(err.code, status.UNIMPLEMENTED);
    assert.match(err.details, /repository_name/);
  });

  it('RepositoryModelLoad passes config and raw file bytes', async () => {
    const onnx = Uint8Array.of(8, 7, 0, 255);
    await h.call('repositoryModelLoad', {
      modelName: 'm',
      parameters: {
        config: { parameterChoice: { case: 'stringParam', value: '{"backend":"onnxruntime"}' } },
        'file:1/model.onnx': { parameterChoice: { case: 'bytesParam', value: onnx } },
      },
    });
    const load = h.fake.loads.at(-1);
    assert.equal(load?.model, 'm');
    assert.equal(load?.params.config, '{"backend":"onnxruntime"}');
    assert.deepEqual(load?.params.files, { '1/model.onnx': onnx });
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
    assert.equal(err.details, "failed to load 'unloadable'");
  });

  it('RepositoryModelUnload with unload_dependents', async () => {
    await h.call('repositoryModelUnload', { modelName: 'a' });
    await h.call('repositoryModelUnload', {
      modelName: 'b',
      parameters: { unload_dependents: { parameterChoice: { case: 'boolParam', value: true } } },
    });
    assert.deepEqual(h.fake.unloads.slice(-2), [
      { model: 'a', dependents: false },
      { model: 'b', dependents: true },
    ]);
  });
});

describe('shared memory rpcs are declined gracefully', () => {
  it('status → empty, unregister → OK, register → UNIMPLEMENTED', async () => {
    assert.deepEqual((await h.call('systemSharedMemoryStatus', {})).regions, {});
    assert.deepEqual((await h.call('cudaSharedMemoryStatus', { name: 'r' })).regions, {});
    await h.call('systemSharedMemoryUnregister', {});
    await h.call('cudaSharedMemoryUnregister', { name: 'r' });
    for (const m of ['systemSharedMemoryRegister', 'cudaSharedMemoryRegister'] as const) {
      const err = await grpcError(h.call(m, { name: 'r', byteSize: 64n }));
      assert.equal(err.code, status.UNIMPLEMENTED);
      assert.equal(err.details, 'shared memory is not supported by this server');
    }
  });
});

describe('trace and log settings', () => {
  it('TraceSetting returns static defaults with trace_level OFF', async () => {
    const res = await h.call('traceSetting', {});
    assert.deepEqual(res.settings['trace_level']?.value, ['OFF']);
    assert.deepEqual(res.settings['trace_rate']?.value, ['1000']);
    const upd = await h.call('traceSetting', { modelName: 'echo', settings: { trace_rate: { value: ['5'] } } });
    assert.deepEqual(upd.settings['trace_rate']?.value, ['1000'], 'updates change nothing');
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
