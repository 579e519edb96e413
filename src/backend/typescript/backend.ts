/**
 * TypeScript models (`backend: "typescript"`, docs/typescript-models.md): a version's `model.ts`
 * (or model.js / model.mjs) exports `execute`; its config declares the inputs and outputs (the
 * signature is the config's). Each version is bundled once (bundle.ts) and each instance runs it in
 * a worker thread of its own (instance.ts), never on the event loop, behind the same schedulers,
 * batching, statistics and error handling as an ONNX model. `ctx.client` reaches other models of
 * the server through the ModelCaller the backend is given.
 */
import { dirname, resolve } from 'node:path';
import { InferError, type ModelCaller, type ModelIO, type ModelVersionSpec } from '../../core/index.js';
import { instanceLabel } from '../instance-ref.js';
import { cleanReason, messageOf } from '../ort/reasons.js';
import { warmupPlans } from '../ort/warmup.js';
import type { Backend, InstanceEvent, LoadedModel, LoadOptions } from '../types.js';
import type { DeclaredTensor } from './api.js';
import { bundleModel, type ModelBundle } from './bundle.js';
import { type InstanceLog, TsInstance } from './instance.js';
import type { LogLevel, TsWorkerData } from './messages.js';
import { threadEntry } from './thread.js';

/** Where model log lines go: the server's pino logger fits. */
export type ModelLogger = Record<LogLevel, (fields: Record<string, unknown>, message: string) => void>;

/** Construction options of the TypeScript backend. */
export interface TypeScriptBackendOptions {
  /** How `ctx.client` reaches other models (absent: its calls are refused with IG_ERR_UNAVAILABLE). */
  caller?: ModelCaller;
  /** Where `ctx.log` lines and the models' failures (with stacks) go. */
  logger?: ModelLogger;
  /** Delays before each restart attempt of a crashed or stuck instance; the length bounds the attempts. */
  restartDelaysMs?: number[];
  /** How long a worker may stay silent after a run's bound before it is terminated (default 1000 ms). */
  hangGraceMs?: number;
}

/** `execute_timeout_ms` when the config sets none: the bound of a run without a deadline. */
export const DEFAULT_EXECUTE_TIMEOUT_MS = 60_000;
/** `initialize_timeout_ms` when the config sets none: the bound of a thread's import, initialize and warm-up. */
export const DEFAULT_INITIALIZE_TIMEOUT_MS = 120_000;
const DEFAULT_RESTART_DELAYS_MS = [0, 250, 1000, 4000];
/** setTimeout's largest delay. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** File names a TypeScript model's version may hold, preferred first (the first is the default). */
export const TYPESCRIPT_MODEL_FILES = ['model.ts', 'model.js', 'model.mjs'] as const;

function loadFailure(spec: ModelVersionSpec, reason: string, cause?: unknown): InferError {
  const message = `failed to load model '${spec.model}' version ${spec.version}: ${reason}`;
  return new InferError('IG_ERR_MODEL_LOAD', message, cause === undefined ? undefined : { cause });
}

/** A millisecond parameter of the config: a positive integer, else the default. */
function msParameter(spec: ModelVersionSpec, key: string, fallback: number): number {
  const raw = spec.execution.parameters[key]?.trim();
  if (raw === undefined || raw === '') return fallback;
  const ms = Number(raw);
  if (!Number.isSafeInteger(ms) || ms <= 0 || ms > MAX_TIMER_MS)
    throw loadFailure(spec, `parameter '${key}' must be a positive whole number of milliseconds, got '${raw}'`);
  return ms;
}

/** The config's tensors as the model's context shows them (the dims the model sees). */
function declared(tensors: ModelVersionSpec['inputs']): DeclaredTensor[] {
  return tensors.map((t) => ({
    name: t.name,
    datatype: t.datatype,
    dims: [...(t.reshape ?? t.dims)],
    ...(t.optional ? { optional: true } : {}),
  }));
}

/** A loaded version: its instances, the bundle they share, an idempotent dispose. */
class TsLoadedModel implements LoadedModel {
  #disposing: Promise<void> | undefined;

  constructor(
    readonly instances: readonly TsInstance[],
    private readonly bundle: ModelBundle,
    private readonly onDisposed: () => void,
  ) {}

  /** Per instance: the bundle it imported plus its thread's heap and external memory once warm. */
  get memoryBytes(): number {
    return this.instances.reduce((n, i) => n + this.bundle.bytes + i.memoryBytes, 0);
  }

  dispose(): Promise<void> {
    this.#disposing ??= Promise.all(this.instances.map((i) => i.dispose())).then(() => {
      this.bundle.dispose();
      this.onDisposed();
    });
    return this.#disposing;
  }
}

/** Backend running TypeScript/JavaScript models in worker threads. */
export class TypeScriptBackend implements Backend {
  readonly name = 'typescript';
  readonly platforms: readonly string[] = [];
  readonly signature = 'config' as const;
  readonly modelFiles: readonly string[] = TYPESCRIPT_MODEL_FILES;
  readonly #o: TypeScriptBackendOptions;
  readonly #loaded = new Set<TsLoadedModel>();
  #closed = false;

  constructor(options: TypeScriptBackendOptions = {}) {
    this.#o = options;
  }

  /** There is nothing to read from the file: the signature of a TypeScript model is its config. */
  inspect(): Promise<ModelIO> {
    return Promise.reject(
      new InferError('IG_ERR_MODEL_LOAD', 'a TypeScript model declares its inputs and outputs in its config'),
    );
  }

  /** Bundles the version, starts its instances (each initialized and warm); IG_ERR_MODEL_LOAD on any failure. */
  async load(spec: ModelVersionSpec, options: LoadOptions = {}): Promise<LoadedModel> {
    if (this.#closed) throw new InferError('IG_ERR_UNAVAILABLE', 'backend is closed');
    const executeTimeoutMs = msParameter(spec, 'execute_timeout_ms', DEFAULT_EXECUTE_TIMEOUT_MS);
    const initializeTimeoutMs = msParameter(spec, 'initialize_timeout_ms', DEFAULT_INITIALIZE_TIMEOUT_MS);
    const [bundle, url] = await Promise.all([bundleModel(spec), threadEntry()]);
    const versionDir = resolve(dirname(spec.path));
    const base: Omit<TsWorkerData, 'instance'> = {
      bundle: bundle.url,
      model: spec.model,
      version: spec.version,
      parameters: { ...spec.execution.parameters },
      modelDir: dirname(versionDir),
      versionDir,
      maxBatchSize: spec.maxBatchSize,
      inputs: declared(spec.inputs),
      outputs: declared(spec.outputs),
      niceness: spec.execution.niceness,
      executeTimeoutMs,
      // Generated samples are made-up data, which user code may rightly refuse (an empty PNG).
      warmup: warmupPlans(spec).filter((p) => p.generated !== true),
    };
    const ctx = {
      url,
      restartDelaysMs: this.#o.restartDelaysMs ?? DEFAULT_RESTART_DELAYS_MS,
      hangGraceMs: this.#o.hangGraceMs ?? 1000,
      initializeTimeoutMs,
      emit: (e: InstanceEvent) => options.onEvent?.(e),
      caller: this.#o.caller,
    };
    const instances = Array.from({ length: Math.max(1, spec.instances) }, (_, index) => {
      const ref = { model: spec.model, version: spec.version, index };
      return new TsInstance(ref, { ...base, instance: index }, { ...ctx, log: this.#log(instanceLabel(ref), ref) });
    });
    const failure = (await Promise.allSettled(instances.map((i) => i.start()))).find((s) => s.status === 'rejected');
    if (failure !== undefined) {
      await Promise.all(instances.map((i) => i.dispose()));
      bundle.dispose();
      throw loadFailure(spec, cleanReason(messageOf(failure.reason)), failure.reason);
    }
    const model = new TsLoadedModel(instances, bundle, () => this.#loaded.delete(model));
    this.#loaded.add(model);
    return model;
  }

  /** An instance's log: the logger's line with the model, version and instance. */
  #log(instance: string, ref: { model: string; version: number }): InstanceLog {
    const logger = this.#o.logger;
    if (logger === undefined) return () => {};
    return (level, message, fields) =>
      logger[level]({ ...fields, model: ref.model, version: ref.version, instance }, message);
  }

  /** Disposes every version still loaded. */
  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all([...this.#loaded].map((m) => m.dispose()));
  }
}
