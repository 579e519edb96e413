import type { CallContext, InferRequest, InferResponse, ModelState, ModelStatistics } from '../core/index.js';
import type { TraceSettingsView } from '../observability/trace-control.js';

/** Server metadata (GET /v2). */
export interface ServerMetadata {
  name: string;
  version: string;
  extensions: string[];
}

/** Model metadata (GET /v2/models/{m}[/versions/{v}]); shapes include -1 batch when batching. */
export interface ModelMetadata {
  name: string;
  versions: string[];
  platform: string;
  inputs: Array<{ name: string; datatype: string; shape: number[] }>;
  outputs: Array<{ name: string; datatype: string; shape: number[] }>;
}

/** One row of the repository index. Version/state absent for models never loaded. */
export interface IndexEntry {
  name: string;
  version?: string;
  state?: ModelState;
  reason?: string;
  /** infergate: the version's circuit breaker state, when its config has one (closed, open, half-open). */
  breaker?: string;
}

/** Parameters of a repository load call. `config` is ModelConfig JSON; files are raw bytes by path. */
export interface LoadParams {
  config?: string;
  files?: Record<string, Uint8Array>;
}

/** Runtime log settings (Triton /v2/logging keys). */
export type LogSettings = Record<string, string | number | boolean>;

/**
 * The data plane every protocol calls: health, metadata and inference. Everything returns plain
 * data or throws an InferError. Implemented by router/router.ts; protocol/http and protocol/grpc
 * depend only on this interface and AdminService.
 */
export interface InferenceService {
  live(): boolean;
  ready(): boolean;
  serverMetadata(): ServerMetadata;
  /** Throws IG_ERR_MODEL_NOT_FOUND for unknown model/version; false when known but not ready. */
  modelReady(model: string, version?: string): boolean;
  modelMetadata(model: string, version?: string): ModelMetadata;
  /** The normalized config in Triton's JSON form (protocol.md §D.9). */
  modelConfig(model: string, version?: string): Record<string, unknown>;
  /**
   * Runs one call through the request pipeline. `request` is never mutated; `ctx` is built once
   * by the transport (core/context.ts). Rejects with an InferError.
   */
  infer(request: InferRequest, ctx: CallContext): Promise<InferResponse>;
}

/**
 * The control plane: the repository, statistics, log and trace settings. Separate from
 * inference so that it can be guarded (and later served) as one unit. Implemented by
 * router/admin.ts.
 */
export interface AdminService {
  repositoryIndex(readyOnly: boolean): IndexEntry[];
  loadModel(model: string, params: LoadParams): Promise<void>;
  unloadModel(model: string, unloadDependents: boolean): Promise<void>;
  /** Statistics for all models (no model), one model, or one version. */
  modelStatistics(model?: string, version?: string): ModelStatistics[];
  getLogSettings(): LogSettings;
  /** Validates and applies; throws IG_ERR_INVALID_ARG naming the bad key. */
  updateLogSettings(update: LogSettings): LogSettings;
  /** Server-wide or one model's trace settings; throws IG_ERR_MODEL_NOT_FOUND for an unknown model. */
  traceSettings(model?: string): TraceSettingsView;
  /** Validates every key, then applies them (null clears a model's override); answers the settings. */
  updateTraceSettings(update: Record<string, unknown>, model?: string): TraceSettingsView;
}

/** What the protocol servers are built over. */
export interface Services {
  inference: InferenceService;
  admin: AdminService;
}

/** Response parameter naming the fallback step that answered (stages/fallback.ts). */
export const FALLBACK_PARAM = 'fallback_step';

/** Response parameter saying the client's deadline was shortened to the server's maximum, in ms (stages/deadline.ts). */
export const CLAMPED_PARAM = 'deadline_clamped_ms';
