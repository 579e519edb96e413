import type { CallContext, ModelBytes, ModelIO, ModelVersionSpec, Tensor } from '../core/index.js';

/** Time spent in each execution stage, nanoseconds (for the statistics extension). */
export interface ExecTiming {
  inputNs: number;
  inferNs: number;
  outputNs: number;
}

/** Result of one execution: outputs in the model's own shapes (batch dim included). */
export interface ExecResult {
  outputs: Tensor[];
  timing: ExecTiming;
}

/** Which instance an event is about: plain fields, never a name to parse. */
export interface InstanceRef {
  model: string;
  version: number;
  /** 0-based index among the version's instances. */
  index: number;
}

/** Lifecycle events a backend reports about its instances (for logs and metrics). */
export type InstanceEvent =
  | { type: 'crash'; instance: InstanceRef; reason: string; failedRequests: number }
  | { type: 'restart'; instance: InstanceRef; ms: number }
  | { type: 'restart-failed'; instance: InstanceRef; reason: string }
  /**
   * The worker did not answer a run within the watchdog's bound (`ms`); `failedRequests` were failed
   * with IG_ERR_WORKER_HUNG and a replacement starts (then 'restart' or 'restart-failed').
   */
  | { type: 'hung'; instance: InstanceRef; ms: number; failedRequests: number }
  /** Something degraded but working, e.g. a requested execution provider fell back to 'cpu'. */
  | { type: 'warning'; instance: InstanceRef; message: string };

/** Per-execution options the scheduler passes with a batch. */
export interface ExecOptions {
  /**
   * Epoch ms (Date.now(), the one clock threads share) after which the batch must not start: the
   * latest deadline of its requests. A backend that finds it passed when the batch would start
   * rejects with IG_ERR_DEADLINE_EXCEEDED without running it. Absent or Infinity = no deadline.
   */
  deadline?: number;
  /**
   * The call being served, when the batch is exactly one call (always so for a `concurrent`
   * model): a backend that calls other models (an ensemble's steps, a TypeScript model's client)
   * passes it on, so the steps share its deadline, cancellation, trace and request id.
   */
  call?: CallContext;
}

/**
 * One execution slot (an onnxruntime session in its own worker thread).
 * Ownership: `execute` transfers the input tensors' buffers to the worker; callers must not
 * touch them afterwards. Output tensors belong to the caller.
 */
export interface BackendInstance {
  readonly id: string;
  /** False while the instance's worker is dead or restarting. */
  readonly alive: boolean;
  /** Requests currently executing on this instance. */
  readonly inflight: number;
  /**
   * Runs one batch. Inputs are in the model's shapes (reshape applied, batch dim included).
   * `outputs` limits what is fetched (undefined = all). Rejects with an InferError:
   * IG_ERR_MODEL_EXECUTION when the model raises, IG_ERR_WORKER_CRASHED when the worker dies under it,
   * IG_ERR_UNAVAILABLE when the instance is down (restarting: the batch never ran),
   * IG_ERR_WORKER_HUNG when it does not answer in time (a backend with a watchdog).
   */
  execute(inputs: Tensor[], outputs?: string[], options?: ExecOptions): Promise<ExecResult>;
  /**
   * Optional: runs one batch given as each request's own inputs (same names, shapes equal but for
   * dim 0), joined along dim 0 where the model runs — the ORT backend joins in its worker, so the
   * batch's copy never blocks the event loop. Same ownership and errors as `execute`; without it
   * the scheduler joins the batch itself and calls `execute`.
   */
  executeBatch?(
    requests: ReadonlyArray<readonly Tensor[]>,
    outputs?: string[],
    options?: ExecOptions,
  ): Promise<ExecResult>;
  /** Stops the instance after its in-flight work and frees what it holds; idempotent. */
  dispose(): Promise<void>;
}

/** A loaded model version: its instances, ready to execute (warm-up done). */
export interface LoadedModel {
  readonly instances: readonly BackendInstance[];
  /**
   * Resident bytes this version holds (all instances): at least the model file size plus the
   * arena growth measured at warm-up. For memory budgets and residency decisions.
   */
  readonly memoryBytes: number;
  /** Stops every instance after its in-flight work; idempotent. */
  dispose(): Promise<void>;
  /**
   * True when one instance runs any number of calls at once (an ensemble, a feature-store lookup:
   * the work happens elsewhere): the scheduler then neither queues nor batches, it hands each call
   * to the first live instance at once, with `ExecOptions.call`.
   */
  readonly concurrent?: boolean;
}

/** Options the caller passes to load. */
export interface LoadOptions {
  onEvent?: (e: InstanceEvent) => void;
}

/** A runtime that can read model signatures and load versions. Implementations: ort/, fake/. */
export interface Backend {
  /** Triton backend name a config's `backend` field uses, e.g. 'onnxruntime'. */
  readonly name: string;
  /** Triton platform names a config's `platform` field may use for it, e.g. ['onnxruntime_onnx']; may be empty. */
  readonly platforms: readonly string[];
  /** BYTES reach the runtime as text (NUL-free UTF-8 only); copied into each version's spec. */
  readonly bytesAsText?: boolean;
  /**
   * Where a version's signature comes from: 'file' (default) reads it with `inspect`; 'config'
   * takes the config's declared inputs and outputs as the signature (an ensemble, a TypeScript
   * model, a configured step), so the config must declare them and `inspect` is never called.
   */
  readonly signature?: 'file' | 'config';
  /**
   * False when a version has no model file (an ensemble, a configured step): the version is its
   * directory `<model>/<n>/`, which must exist, as in Triton. Default true.
   */
  readonly needsFile?: boolean;
  /**
   * The model file names a version of this backend may hold, preferred first; the first is its
   * `default_model_filename`. A config naming no platform or backend whose version holds one of
   * them and no model.onnx is this backend's (the TypeScript backend: model.ts, model.js…).
   */
  readonly modelFiles?: readonly string[];
  /**
   * Reads the tensor signature of a model file without keeping it loaded (runs off the event loop);
   * with `source`, from those bytes (as `load` does with `spec.source`), never from the path.
   */
  inspect(path: string, source?: ModelBytes): Promise<ModelIO>;
  /** Loads `spec.instances` instances, runs warm-up on each, resolves when all are ready. */
  load(spec: ModelVersionSpec, options?: LoadOptions): Promise<LoadedModel>;
  /** Releases shared resources (idle workers). */
  close(): Promise<void>;
}

/**
 * The backends a server has, by Triton name, as the repository sees them (implementation:
 * registry.ts). Lookups of a name no backend has throw IG_ERR_MODEL_LOAD naming the available ones.
 */
export interface BackendLookup {
  /** Every backend, in registration order (config normalisation checks platform/backend against these). */
  list(): readonly Backend[];
  /** The backend with this Triton backend name. */
  byName(name: string): Backend;
  /** The backend serving this Triton platform. */
  byPlatform(platform: string): Backend;
}
