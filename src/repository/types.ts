import type { BackendLookup, InstanceEvent } from '../backend/types.js';
import type { Clock } from '../core/clock.js';
import type { InferError } from '../core/errors.js';
import type { ModelBytes, ModelFileRef, ModelState, ModelVersionSpec } from '../core/model.js';

export type { ModelFileRef };
import type { Scheduler, SchedulerFactory } from '../scheduler/types.js';

/**
 * Triton's model control modes (protocol.md D.10), and infergate's `registry`: what is loaded is
 * decided by the registry sync (manager/sync.ts) through `sync()`, never by the files alone.
 */
export type ControlMode = 'none' | 'explicit' | 'poll' | 'registry';

/** A lifecycle event, for logs and metrics. `ms` = load/unload duration; `reason` = failure or warning text. */
export interface RepositoryEvent {
  /**
   * `evicted`: the memory budget unloaded an idle version to make room (it stays desired and loads
   * again on demand; `bytes` = what it held). `on-demand`: a call's load of an evicted version
   * finished (`ms`), or failed (`reason`).
   */
  type: 'loading' | 'ready' | 'failed' | 'unloading' | 'unloaded' | 'warning' | 'evicted' | 'on-demand';
  model: string;
  version?: number;
  ms?: number;
  reason?: string;
  bytes?: number;
}

/** The model memory budget (docs/memory.md): absent or `bytes` 0 = unlimited. */
export interface MemoryBudgetOptions {
  /** What loaded versions may hold together (LoadedModel.memoryBytes summed). */
  bytes: number;
  /** Versions never evicted besides those whose config pins them (registry mode: the default alias's). */
  pinned?: (model: string, version: number) => boolean;
  /** Longest wait for busy versions to go idle before a load that needs their room is refused (default 10 s). */
  waitMs?: number;
  /** How often a waiting load looks again (default 10 ms). */
  pollMs?: number;
}

/** Everything the repository is built from; backend and scheduler factory are injected. */
export interface ModelRepositoryOptions {
  /** Directory holding `<model>/<version>/…` (Triton layout). */
  root: string;
  controlMode: ControlMode;
  /** Rescan interval in poll mode. */
  pollIntervalMs?: number;
  /** Explicit mode: models to load at start (`--load-model`); `['*']` = every model on disk. */
  startupModels?: readonly string[];
  /** The server's backends; each model loads on the one its config's platform/backend names. */
  backends: BackendLookup;
  /** Builds the scheduler of each freshly loaded version. */
  createScheduler: SchedulerFactory;
  /** Measures load/unload durations for events. */
  clock: Clock;
  onEvent?: (e: RepositoryEvent) => void;
  /** Passed to `backend.load` for instance crash/restart events. */
  onInstanceEvent?: (e: InstanceEvent) => void;
  /** The supply-chain policy (supply/policy.ts): consulted before a model file is inspected or loaded. */
  modelSource?: ModelSource;
  /** The model memory budget; absent: unlimited, nothing is evicted. */
  memoryBudget?: MemoryBudgetOptions;
}

/**
 * Decides how a version's model file may be loaded. `open` verifies what the policy requires and
 * returns the bytes the backend must load (read once: no gap between check and use), or
 * undefined to load from the path; it rejects with IG_ERR_MODEL_LOAD naming the problem, which
 * refuses that version only.
 */
export interface ModelSource {
  open(file: ModelFileRef): Promise<ModelBytes | undefined>;
}

/** One row of the repository index (same shape as router's IndexEntry). Version/state absent when never loaded. */
export interface RepositoryIndexEntry {
  name: string;
  version?: string;
  state?: ModelState;
  reason?: string;
}

/** A load call's parameters (same shape as router's LoadParams): ModelConfig JSON, files by relative path. */
export interface RepositoryLoadParams {
  config?: string;
  files?: Record<string, Uint8Array>;
}

/** A READY version, as handed to the router for inference. */
export interface VersionHandle {
  model: string;
  version: number;
  spec: ModelVersionSpec;
  /** The normalized config in Triton's JSON form (GET …/config). */
  config: Record<string, unknown>;
  scheduler: Scheduler;
}

/** A version's lifecycle state; spec/config/scheduler present while a loaded instance serves it. */
export interface VersionStatus {
  model: string;
  version: number;
  state: ModelState;
  reason?: string;
  spec?: ModelVersionSpec;
  config?: Record<string, unknown>;
  /** Config platform (metadata), while loaded. */
  platform?: string;
  scheduler?: Scheduler;
  /** Evicted by the memory budget: a call loads it; spec, config and platform are the last load's. */
  evicted?: boolean;
}

/**
 * The repository as the router sees it. Model names from clients are checked against the
 * models it knows before any file is touched; failures are InferErrors with Triton's texts.
 */
export interface ModelRepositoryApi {
  /** Initial loads per control mode (none/poll: all; explicit: the startup list) and, in poll mode, the rescan loop. */
  start(): Promise<void>;
  /** Stops polling, waits for queued loads, then drains and disposes every version. */
  stop(): Promise<void>;
  /** Answers every request still queued in any version with `err` (a shutdown past its timeout). */
  abandonQueued(err: InferError): void;
  /**
   * The READY versions of a model, highest first (empty while none is ready): what a version
   * policy (router/policy.ts) chooses from. Throws notFound.model for a name never loaded.
   */
  readyVersions(model: string): VersionHandle[];
  /** Lifecycle events of every model (loading, ready, failed, unloading, unloaded); returns the unsubscribe. */
  subscribe(listener: (e: RepositoryEvent) => void): () => void;
  /** Versions with state/reason (metadata, ready, statistics); throws notFound.model / notFound.version when unknown. */
  modelVersions(model: string, version?: string | number): VersionStatus[];
  /**
   * The normalized config (Triton JSON form) of the given or highest READY version; throws
   * notFound.model / notFound.version / notFound.noVersions, or notFound.notReady.
   */
  modelConfig(model: string, version?: string | number): Record<string, unknown>;
  /** Repository index (protocol.md B.3): every model on disk, name only when never loaded. */
  index(readyOnly: boolean): RepositoryIndexEntry[];
  /** Explicit mode only: load or reload (new versions READY before old ones go). Rejects on failure. */
  load(model: string, params?: RepositoryLoadParams): Promise<void>;
  /** Explicit mode only: stop serving, wait for in-flight requests, dispose. */
  unload(model: string): Promise<void>;
  /** Strict readiness: every model that should be loaded is serving (has a READY version). */
  allReady(): boolean;
  /**
   * Registry mode only: serve exactly `versions` of `model` from `<root>/<model>` (empty: stop
   * serving the model). Versions already READY with unchanged files are not reloaded; new ones
   * are READY before the ones left out are retired. Rejects when a version fails to load.
   */
  sync(model: string, versions: readonly number[]): Promise<void>;
  /** Memory budget: the version was evicted and is still desired (a call loads it again). */
  isEvicted?(model: string, version: number): boolean;
}
