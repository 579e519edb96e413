import type { JobResult } from '../scheduler/types.js';
import {
  type Clock,
  elementCount,
  type InferError,
  type InferRequest,
  type InferResponse,
  type ModelStatistics,
  type ModelVersionSpec,
  type RequestedOutput,
  type Tensor,
  systemClock,
  toInferError,
} from '../core/index.js';
import { failureReasonOf, unroutedReasonOf } from '../observability/failure-reason.js';
import type { LogControl } from '../observability/log-settings.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { RequestLog } from '../observability/request-log.js';
import type { StatsRegistry } from '../observability/stats-registry.js';
import type { ModelRepositoryApi, VersionHandle } from '../repository/types.js';
import { classify } from './classification.js';
import { modelMetadata } from './metadata.js';
import type { IndexEntry, InferenceService, LoadParams, LogSettings, ModelMetadata, ServerMetadata } from './types.js';
import { validateInputs, validateOutputs } from './validate.js';

/** What the router needs from the composition root. */
export interface RouterOptions {
  repository: ModelRepositoryApi;
  stats: StatsRegistry;
  /** Counts requests that never reached a model version (absent in tests without metrics). */
  metrics?: Pick<Metrics, 'countUnrouted'>;
  logger: Logger;
  logControl: LogControl;
  serverName: string;
  serverVersion: string;
  extensions: string[];
  clock?: Clock;
  /** False once shutdown begins: readiness turns false while in-flight work finishes. */
  accepting: () => boolean;
}

/** The single front door: resolves the version, validates, hands to the scheduler, shapes the answer. */
export class Router implements InferenceService {
  private readonly clock: Clock;
  private readonly requestLog: RequestLog;

  constructor(private readonly o: RouterOptions) {
    this.clock = o.clock ?? systemClock;
    this.requestLog = new RequestLog(o.logger, () => this.clock.now());
  }

  live(): boolean {
    return true;
  }

  ready(): boolean {
    return this.o.accepting() && this.o.repository.allReady();
  }

  serverMetadata(): ServerMetadata {
    return { name: this.o.serverName, version: this.o.serverVersion, extensions: [...this.o.extensions] };
  }

  modelReady(model: string, version?: string): boolean {
    return this.o.repository.modelVersions(model, version).some((v) => v.state === 'READY');
  }

  modelMetadata(model: string, version?: string): ModelMetadata {
    const versions = this.o.repository.modelVersions(model, version);
    return modelMetadata(model, version, versions);
  }

  modelConfig(model: string, version?: string): Record<string, unknown> {
    return this.o.repository.modelConfig(model, version);
  }

  modelStatistics(model?: string, version?: string): ModelStatistics[] {
    const versions =
      model === undefined
        ? this.o.repository.index(true).map((e) => ({ model: e.name, version: e.version ?? '' }))
        : this.o.repository
            .modelVersions(model, version)
            .filter((v) => version !== undefined || v.state === 'READY')
            .map((v) => ({ model: v.model, version: String(v.version) }));
    return this.o.stats.snapshot(versions.filter((v) => v.version !== ''));
  }

  async infer(req: InferRequest): Promise<InferResponse> {
    const start = this.clock.now();
    let handle: VersionHandle;
    try {
      handle = this.o.repository.resolve(req.model, req.version);
    } catch (err) {
      throw this.unrouted(req, err, start);
    }
    const stats = this.o.stats.get(handle.model, handle.version);
    const trace = req.trace;
    trace?.resolved(handle.model, String(handle.version));
    try {
      const { spec } = handle;
      validateOutputs(spec, req);
      const { batchSize, inputs } = validateInputs(spec, req);
      const submitted = trace ? this.clock.now() : 0;
      const result = await handle.scheduler.submit({
        inputs,
        outputs: req.outputs?.map((o) => o.name),
        batchSize,
        priority: req.priority,
        timeoutUs: req.timeoutUs,
        signal: req.signal,
        trace,
      });
      trace?.queued(submitted, submitted + result.queueNs / 1e6);
      const outputs = this.shapeOutputs(spec, req, result, batchSize);
      const requestNs = (this.clock.now() - start) * 1e6;
      stats.success(this.clock.wallMs(), requestNs, result.queueNs, batchSize, result.timing, req.protocol);
      if (this.requestLog.successes) this.requestLog.success(req, handle.model, handle.version, requestNs / 1e6);
      const res: InferResponse = { model: handle.model, version: String(handle.version), outputs };
      if (req.id) res.id = req.id;
      return res;
    } catch (err) {
      const e = toInferError(err);
      const ms = this.clock.now() - start;
      stats.failure(this.clock.wallMs(), ms * 1e6, failureReasonOf(e.code), req.protocol);
      this.requestLog.failure(req, e, ms, handle.model, handle.version);
      throw e;
    }
  }

  /** A request that never reached a version: counted without model labels (the name is the client's). */
  private unrouted(req: InferRequest, err: unknown, start: number): InferError {
    const e = toInferError(err);
    this.o.metrics?.countUnrouted(unroutedReasonOf(e.code));
    this.requestLog.failure(req, e, this.clock.now() - start);
    return e;
  }

  /** Orders, reshapes and classifies the outputs the client asked for. */
  private shapeOutputs(spec: ModelVersionSpec, req: InferRequest, r: JobResult, batch: number): Tensor[] {
    const byName = new Map(r.outputs.map((t) => [t.name, t]));
    const wanted: RequestedOutput[] = req.outputs ?? spec.outputs.map((o) => ({ name: o.name }));
    const out: Tensor[] = [];
    for (const w of wanted) {
      let t = byName.get(w.name);
      const s = spec.outputs.find((o) => o.name === w.name);
      if (!t || !s) continue;
      if (s.reshape && !s.dims.includes(-1)) {
        const shape = spec.maxBatchSize > 0 ? [batch, ...s.dims] : [...s.dims];
        if (elementCount(shape) === elementCount(t.shape)) t = { ...t, shape };
      }
      const k = w.classification;
      out.push(k !== undefined && k > 0 ? classify(t, k, spec.maxBatchSize > 0, s.labels) : t);
    }
    return out;
  }

  repositoryIndex(readyOnly: boolean): IndexEntry[] {
    return this.o.repository.index(readyOnly);
  }

  async loadModel(model: string, params: LoadParams): Promise<void> {
    await this.o.repository.load(model, params);
  }

  async unloadModel(model: string, _unloadDependents: boolean): Promise<void> {
    await this.o.repository.unload(model);
  }

  getLogSettings(): LogSettings {
    return { ...this.o.logControl.get() };
  }

  updateLogSettings(update: LogSettings): LogSettings {
    return { ...this.o.logControl.update(update) };
  }
}
