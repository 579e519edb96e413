/**
 * FakeBackend: the Backend contract entirely in-process, no onnxruntime, for unit tests of the
 * scheduler, router and repository. Models are registered by path; failures are injected by hand.
 */
import { InferError, type ModelIO, type ModelVersionSpec, type Tensor } from '../../core/index.js';
import type { Backend, InstanceEvent, LoadedModel, LoadOptions } from '../types.js';
import { FakeInstance } from './instance.js';
import type { FakeModelDef } from './models.js';

/** Construction options of the fake backend. */
export interface FakeBackendOptions {
  /** Triton backend name it registers under. Default 'onnxruntime', so default configs reach it. */
  name?: string;
  /** Triton platforms it serves. Default ['onnxruntime_onnx']. */
  platforms?: readonly string[];
  /** Models by path. More can be added with register(). */
  models?: Record<string, FakeModelDef>;
  /** Delay before a crashed instance comes back (setTimeout). Default 10 ms. */
  restartDelayMs?: number;
}

/** What a fake instance reports holding when its model def names no figure. */
const DEFAULT_INSTANCE_BYTES = 1 << 20;

/** A loaded fake version. */
export class FakeLoadedModel implements LoadedModel {
  #disposing: Promise<void> | undefined;
  constructor(
    readonly instances: readonly FakeInstance[],
    readonly memoryBytes: number,
    private readonly onDisposed: () => void,
  ) {}

  /** Disposes every instance (after its queued work); idempotent. */
  dispose(): Promise<void> {
    this.#disposing ??= Promise.all(this.instances.map((i) => i.dispose())).then(() => this.onDisposed());
    return this.#disposing;
  }
}

/** Deterministic in-process Backend. */
export class FakeBackend implements Backend {
  readonly name: string;
  readonly platforms: readonly string[];
  readonly #models = new Map<string, FakeModelDef>();
  readonly #loaded = new Set<FakeLoadedModel>();
  readonly #restartDelayMs: number;
  #closed = false;
  /** Every execution in order: which instance ran which inputs. */
  readonly executions: Array<{ instance: string; inputs: Tensor[] }> = [];
  /** Every load call's spec, in order. */
  readonly loads: ModelVersionSpec[] = [];

  constructor(options: FakeBackendOptions = {}) {
    this.name = options.name ?? 'onnxruntime';
    this.platforms = options.platforms ?? ['onnxruntime_onnx'];
    for (const [path, def] of Object.entries(options.models ?? {})) this.#models.set(path, def);
    this.#restartDelayMs = options.restartDelayMs ?? 10;
  }

  /** Adds or replaces the model served at a path. */
  register(path: string, def: FakeModelDef): void {
    this.#models.set(path, def);
  }

  /** Models currently loaded (not disposed). */
  get loadedCount(): number {
    return this.#loaded.size;
  }

  /** Returns the registered signature; unknown paths reject with IG_ERR_MODEL_LOAD. */
  async inspect(path: string): Promise<ModelIO> {
    const def = this.#get(path, 'failed to read model signature');
    if (def.failLoad !== undefined) throw loadError('failed to read model signature', def.failLoad, path);
    return structuredClone(def.io);
  }

  /** Creates spec.instances fake instances (after a macrotask, like a real load). */
  async load(spec: ModelVersionSpec, options: LoadOptions = {}): Promise<LoadedModel> {
    if (this.#closed) throw new InferError('IG_ERR_UNAVAILABLE', 'backend is closed');
    this.loads.push(spec);
    const what = `failed to load model '${spec.model}' version ${spec.version}`;
    const def = this.#get(spec.path, what);
    await new Promise((r) => setTimeout(r, 0));
    if (def.failLoad !== undefined) throw loadError(what, def.failLoad, spec.path);
    const ctx = {
      def,
      restartDelayMs: this.#restartDelayMs,
      emit: (e: InstanceEvent) => options.onEvent?.(e),
      record: (instance: string, inputs: Tensor[]) => this.executions.push({ instance, inputs }),
    };
    const n = Math.max(1, spec.instances);
    const instances = Array.from(
      { length: n },
      (_, index) => new FakeInstance({ model: spec.model, version: spec.version, index }, ctx),
    );
    const bytes = n * (def.memoryBytes ?? DEFAULT_INSTANCE_BYTES);
    const model = new FakeLoadedModel(instances, bytes, () => this.#loaded.delete(model));
    this.#loaded.add(model);
    return model;
  }

  /** Disposes every loaded model. */
  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all([...this.#loaded].map((m) => m.dispose()));
  }

  #get(path: string, what: string): FakeModelDef {
    const def = this.#models.get(path);
    if (def === undefined) throw loadError(what, 'model file not found', path);
    return def;
  }
}

function loadError(what: string, reason: string, path: string): InferError {
  return new InferError('IG_ERR_MODEL_LOAD', `${what}: ${reason}`, { cause: new Error(`${path}: ${reason}`) });
}
