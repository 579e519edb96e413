/** A scriptable InferenceService for HTTP protocol tests: echoes inputs as outputs and records calls. */
import {
  type InferRequest,
  type InferResponse,
  invalidArg,
  type ModelStatistics,
  notFound,
  zeroDuration,
} from '../../../../src/core/index.js';
import type {
  IndexEntry,
  InferenceService,
  LoadParams,
  LogSettings,
  ModelMetadata,
  ServerMetadata,
} from '../../../../src/router/types.js';

interface FakeModel {
  versions: Record<string, boolean>;
  inputs: ModelMetadata['inputs'];
  outputs: ModelMetadata['outputs'];
}

/** Fake front door; tweak its fields in a test to script behaviour. */
export class FakeService implements InferenceService {
  isLive = true;
  isReady = true;
  models = new Map<string, FakeModel>([
    [
      'simple',
      {
        versions: { '1': true, '2': false },
        inputs: [{ name: 'INPUT0', datatype: 'INT32', shape: [-1, 16] }],
        outputs: [{ name: 'OUTPUT0', datatype: 'INT32', shape: [-1, 16] }],
      },
    ],
  ]);
  requests: InferRequest[] = [];
  loads: Array<{ model: string; params: LoadParams }> = [];
  unloads: Array<{ model: string; dependents: boolean }> = [];
  logSettings: LogSettings = { log_info: true, log_verbose_level: 0 };
  /** Replace to script infer; the default echoes every input as an output of the same name. */
  inferImpl: (r: InferRequest) => Promise<InferResponse> = async (r) => ({
    id: r.id,
    model: r.model,
    version: r.version ?? '1',
    outputs: r.outputs ? r.inputs.filter((t) => r.outputs?.some((o) => o.name === t.name)) : r.inputs,
  });

  live(): boolean {
    return this.isLive;
  }
  ready(): boolean {
    return this.isReady;
  }
  serverMetadata(): ServerMetadata {
    return { name: 'infergate', version: '0.1.0', extensions: ['binary_tensor_data', 'statistics'] };
  }
  private find(model: string, version?: string): FakeModel {
    const m = this.models.get(model);
    if (m === undefined) throw notFound.model(model);
    if (version !== undefined && !(version in m.versions)) throw notFound.version(model, version);
    return m;
  }
  modelReady(model: string, version?: string): boolean {
    const m = this.find(model, version);
    return version === undefined ? Object.values(m.versions).some(Boolean) : m.versions[version] === true;
  }
  modelMetadata(model: string, version?: string): ModelMetadata {
    const m = this.find(model, version);
    const versions = version ? [version] : Object.keys(m.versions).filter((v) => m.versions[v]);
    return { name: model, versions, platform: 'onnxruntime_onnx', inputs: m.inputs, outputs: m.outputs };
  }
  modelConfig(model: string, version?: string): Record<string, unknown> {
    this.find(model, version);
    return { name: model, max_batch_size: 8, input: [{ name: 'INPUT0', data_type: 'TYPE_INT32', dims: [16] }] };
  }
  modelStatistics(model?: string, version?: string): ModelStatistics[] {
    const names = model === undefined ? [...this.models.keys()] : [model];
    if (model !== undefined) this.find(model, version);
    return names.map((name) => ({
      name,
      version: version ?? '1',
      last_inference: 1700000000000,
      inference_count: 8,
      execution_count: 2,
      inference_stats: {
        success: { count: 2, ns: 9007199254740993n },
        fail: zeroDuration(),
        queue: { count: 2, ns: 12345678901234567890n },
        compute_input: zeroDuration(),
        compute_infer: zeroDuration(),
        compute_output: zeroDuration(),
        cache_hit: zeroDuration(),
        cache_miss: zeroDuration(),
      },
      batch_stats: [
        {
          batch_size: 4,
          compute_input: zeroDuration(),
          compute_infer: { count: 2, ns: 5n },
          compute_output: zeroDuration(),
        },
      ],
      memory_usage: [],
    }));
  }
  infer(request: InferRequest): Promise<InferResponse> {
    this.requests.push(request);
    this.find(request.model, request.version);
    return this.inferImpl(request);
  }
  repositoryIndex(readyOnly: boolean): IndexEntry[] {
    const all: IndexEntry[] = [{ name: 'simple', version: '1', state: 'READY' }, { name: 'never_loaded' }];
    return readyOnly ? all.filter((e) => e.state === 'READY') : all;
  }
  async loadModel(model: string, params: LoadParams): Promise<void> {
    if (params.config === '{bad') throw invalidArg('failed to parse config');
    this.loads.push({ model, params });
  }
  async unloadModel(model: string, dependents: boolean): Promise<void> {
    this.unloads.push({ model, dependents });
  }
  getLogSettings(): LogSettings {
    return this.logSettings;
  }
  updateLogSettings(update: LogSettings): LogSettings {
    for (const key of Object.keys(update))
      if (!(key in this.logSettings)) throw invalidArg(`unknown log setting '${key}'`);
    this.logSettings = { ...this.logSettings, ...update };
    return this.logSettings;
  }
}
