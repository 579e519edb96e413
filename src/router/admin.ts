/**
 * The control plane behind AdminService: repository index/load/unload, statistics, log and trace
 * settings. Thin: each call is the repository's, the statistics registry's or a settings object's.
 */
import { InferError, type ModelStatistics } from '../core/index.js';
import type { LogControl } from '../observability/log-settings.js';
import type { StatsRegistry } from '../observability/stats-registry.js';
import type { TraceControl, TraceSettingsView } from '../observability/trace-control.js';
import type { ModelRepositoryApi } from '../repository/types.js';
import type { Breakers } from '../resilience/breakers.js';
import type { AdminService, IndexEntry, LoadParams, LogSettings } from './types.js';

export interface AdminOptions {
  repository: ModelRepositoryApi;
  stats: StatsRegistry;
  logControl: LogControl;
  traceControl: TraceControl;
  /**
   * Triton's load API may carry model files (`file:` parameters). Off by default: it lets a caller
   * hand the server code to run (the ShellTorch class); the route is admin-only either way.
   */
  allowLoadFiles?: boolean;
  /** Circuit breaker states, shown beside each version in the index (the router's breakers). */
  breakers?: Pick<Breakers, 'stateOf'>;
}

export class AdminApi implements AdminService {
  constructor(private readonly o: AdminOptions) {}

  repositoryIndex(readyOnly: boolean): IndexEntry[] {
    const entries = this.o.repository.index(readyOnly);
    const breakers = this.o.breakers;
    if (breakers === undefined) return entries;
    return entries.map((e) => {
      const state = e.version === undefined ? undefined : breakers.stateOf(e.name, Number(e.version));
      return state === undefined ? e : { ...e, breaker: state };
    });
  }

  async loadModel(model: string, params: LoadParams): Promise<void> {
    if (params.files && Object.keys(params.files).length > 0 && this.o.allowLoadFiles !== true)
      throw new InferError(
        'IG_ERR_FORBIDDEN',
        "model files in load requests ('file:' parameters) are disabled; start the server with --allow-load-files",
      );
    await this.o.repository.load(model, params);
  }

  async unloadModel(model: string, _unloadDependents: boolean): Promise<void> {
    await this.o.repository.unload(model);
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

  getLogSettings(): LogSettings {
    return { ...this.o.logControl.get() };
  }

  updateLogSettings(update: LogSettings): LogSettings {
    return { ...this.o.logControl.update(update) };
  }

  traceSettings(model?: string): TraceSettingsView {
    if (model !== undefined) this.o.repository.modelVersions(model);
    return this.o.traceControl.get(model);
  }

  updateTraceSettings(update: Record<string, unknown>, model?: string): TraceSettingsView {
    // A model-level update for an unknown model fails like every other model endpoint.
    if (model !== undefined) this.o.repository.modelVersions(model);
    return this.o.traceControl.update(update, model);
  }
}
