/**
 * A scripted InferenceService for the gRPC front-end tests. Models:
 *   echo     — returns every input as an output of the same name (optionally a subset)
 *   delay    — echo after `delay_ms` (request parameter) milliseconds
 *   slow     — never answers; rejects when the request's signal aborts (records the reason)
 *   fail     — throws an InferError (INVALID_ARG "model says no")
 *   boom     — throws a plain Error (an unexpected bug)
 *   notready — known but not ready
 */
import {
  type InferRequest,
  type InferResponse,
  InferError,
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

const KNOWN = new Set(['echo', 'delay', 'slow', 'fail', 'boom', 'notready']);

export class FakeService implements InferenceService {
  isReady = true;
  /** Every request that reached infer(), in order. */
  readonly requests: InferRequest[] = [];
  /** Resolves when the next request reaches infer() (for cancellation tests). */
  arrived: Promise<InferRequest>;
  private notifyArrived!: (r: InferRequest) => void;
  /** Abort reasons observed by the `slow` model. */
  readonly aborts: unknown[] = [];
  readonly loads: Array<{ model: string; params: LoadParams }> = [];
  readonly unloads: Array<{ model: string; dependents: boolean }> = [];
  logSettings: LogSettings = {
    log_info: true,
    log_warning: true,
    log_error: true,
    log_verbose_level: 0,
    log_format: 'default',
  };
  stats: ModelStatistics[] = [];

  constructor() {
    this.arrived = this.nextArrival();
  }

  private nextArrival(): Promise<InferRequest> {
    return new Promise((resolve) => {
      this.notifyArrived = resolve;
    });
  }

  private check(model: string, version?: string): void {
    if (!KNOWN.has(model)) throw notFound.model(model);
    if (version !== undefined && version !== '1') throw notFound.version(model, version);
  }

  live(): boolean {
    return true;
  }
  ready(): boolean {
    return this.isReady;
  }
  serverMetadata(): ServerMetadata {
    return { name: 'infergate', version: '0.1.0', extensions: ['classification', 'model_repository'] };
  }
  modelReady(model: string, version?: string): boolean {
    this.check(model, version);
    return model !== 'notready';
  }
  modelMetadata(model: string, version?: string): ModelMetadata {
    this.check(model, version);
    return {
      name: model,
      versions: ['1'],
      platform: 'onnxruntime_onnx',
      inputs: [{ name: 'INPUT0', datatype: 'FP32', shape: [-1, 16] }],
      outputs: [{ name: 'OUTPUT0', datatype: 'FP32', shape: [-1, 16] }],
    };
  }
  modelConfig(model: string, version?: string): Record<string, unknown> {
    this.check(model, version);
    return {
      name: model,
      platform: 'onnxruntime_onnx',
      backend: 'onnxruntime',
      max_batch_size: 8,
      input: [{ name: 'INPUT0', data_type: 'TYPE_FP32', dims: [16], is_shape_tensor: false }],
      output: [{ name: 'OUTPUT0', data_type: 'TYPE_STRING', dims: [-1] }],
      dynamic_batching: { max_queue_delay_microseconds: 100, preferred_batch_size: [4, 8] },
      instance_group: [{ name: `${model}_0`, kind: 'KIND_CPU', count: 2 }],
      some_future_field: { ignored: true },
    };
  }
  modelStatistics(model?: string, version?: string): ModelStatistics[] {
    if (model !== undefined) this.check(model, version);
    return this.stats.filter((s) => model === undefined || s.name === model);
  }

  async infer(request: InferRequest): Promise<InferResponse> {
    this.requests.push(request);
    const notify = this.notifyArrived;
    this.arrived = this.nextArrival();
    notify(request);
    this.check(request.model, request.version);
    if (request.signal?.aborted) throw request.signal.reason;
    switch (request.model) {
      case 'fail':
        throw invalidArg('model says no');
      case 'boom':
        throw new Error('secret internal detail /etc/passwd');
      case 'notready':
        throw notFound.notReady('notready', 1);
      case 'slow':
        return this.slow(request);
      case 'delay':
        await new Promise((r) => setTimeout(r, Number(request.parameters['delay_ms'] ?? 0)));
        return echo(request);
      default:
        return echo(request);
    }
  }

  private slow(request: InferRequest): Promise<InferResponse> {
    return new Promise((_, reject) => {
      const signal = request.signal;
      if (!signal) return reject(new Error('no signal'));
      signal.addEventListener('abort', () => {
        this.aborts.push(signal.reason);
        reject(signal.reason);
      });
    });
  }

  repositoryIndex(readyOnly: boolean): IndexEntry[] {
    const all: IndexEntry[] = [
      { name: 'echo', version: '1', state: 'READY' },
      { name: 'never_loaded' },
      { name: 'bad', version: '1', state: 'UNAVAILABLE', reason: 'load failed' },
    ];
    return readyOnly ? all.filter((e) => e.state === 'READY') : all;
  }
  async loadModel(model: string, params: LoadParams): Promise<void> {
    if (model === 'unloadable') throw new InferError('IG_ERR_MODEL_LOAD', `failed to load '${model}'`);
    this.loads.push({ model, params });
  }
  async unloadModel(model: string, unloadDependents: boolean): Promise<void> {
    this.unloads.push({ model, dependents: unloadDependents });
  }
  getLogSettings(): LogSettings {
    return { ...this.logSettings };
  }
  updateLogSettings(update: LogSettings): LogSettings {
    for (const [k, v] of Object.entries(update)) {
      if (!(k in this.logSettings)) throw invalidArg(`unknown log setting '${k}'`);
      this.logSettings[k] = v;
    }
    return this.getLogSettings();
  }
}

function echo(request: InferRequest): InferResponse {
  const wanted = request.outputs?.map((o) => o.name);
  const outputs = request.inputs.filter((t) => wanted === undefined || wanted.includes(t.name));
  return { id: request.id, model: request.model, version: '1', outputs };
}

/** A statistics row with a duration beyond 2^53 ns, to check uint64 exactness. */
export function bigStats(name: string): ModelStatistics {
  const d = () => zeroDuration();
  return {
    name,
    version: '1',
    last_inference: 1_700_000_000_000,
    inference_count: 12,
    execution_count: 3,
    inference_stats: {
      success: { count: 12, ns: 2n ** 60n + 7n },
      fail: d(),
      queue: { count: 12, ns: 1234n },
      compute_input: d(),
      compute_infer: d(),
      compute_output: d(),
      cache_hit: d(),
      cache_miss: d(),
    },
    batch_stats: [{ batch_size: 4, compute_input: d(), compute_infer: { count: 3, ns: 99n }, compute_output: d() }],
    memory_usage: [{ type: 'CPU', id: 0, byte_size: 1024 }],
  };
}
