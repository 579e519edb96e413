import type { JobResult } from '../scheduler/types.js';
import {
  type Clock,
  elementCount,
  type InferRequest,
  type InferResponse,
  type ModelStatistics,
  type ModelVersionSpec,
  type RequestedOutput,
  type Tensor,
  systemClock,
  toInferError,
} from '../core/index.js';
import type { LogControl } from '../observability/log-settings.js';
import type { Logger } from '../observability/logger.js';
import type { StatsRegistry } from '../observability/stats-registry.js';
import type { ModelRepositoryApi } from '../repository/types.js';
import { classify } from './classification.js';
import { modelMetadata } from './metadata.js';
import type { IndexEntry, InferenceService, LoadParams, LogSettings, ModelMetadata, ServerMetadata } from './types.js';
import { validateInputs, validateOutputs } from './validate.js';

/** What the router needs from the composition root. */
export interface RouterOptions {
  repository: ModelRepositoryApi;
  stats: StatsRegistry;
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

  constructor(private readonly o: RouterOptions) {
    this.clock = o.clock ?? systemClock;
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
    const handle = this.o.repository.resolve(req.model, req.version);
    const stats = this.o.stats.get(handle.model, handle.version);
    try {
      const { spec } = handle;
      validateOutputs(spec, req);
      const { batchSize, inputs } = validateInputs(spec, req);
      const result = await handle.scheduler.submit({
        inputs,
        outputs: req.outputs?.map((o) => o.name),
        batchSize,
        priority: req.priority,
        timeoutUs: req.timeoutUs,
        signal: req.signal,
      });
      const outputs = this.shapeOutputs(spec, req, result, batchSize);
      const requestNs = (this.clock.now() - start) * 1e6;
      stats.success(this.clock.wallMs(), requestNs, result.queueNs, batchSize, result.timing);
      const res: InferResponse = { model: handle.model, version: String(handle.version), outputs };
      if (req.id) res.id = req.id;
      return res;
    } catch (err) {
      stats.failure(this.clock.wallMs(), (this.clock.now() - start) * 1e6);
      const e = toInferError(err);
      if (e.code === 'IG_ERR_INTERNAL' || e.code === 'IG_ERR_WORKER_CRASHED')
        this.o.logger.error({ err: e.cause ?? e, model: handle.model, version: handle.version }, e.message);
      throw e;
    }
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
