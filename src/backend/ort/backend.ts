/**
 * The onnxruntime backend: every session lives in a worker thread (one per instance), so the
 * event loop never loads or runs a model (architecture rule 6).
 */
import { InferError, type ModelBytes, type ModelIO, type ModelVersionSpec } from '../../core/index.js';
import type { Backend, InstanceEvent, LoadedModel, LoadOptions } from '../types.js';
import { ortExecutionSettings } from './execution-settings.js';
import { workerHooks } from './hooks.js';
import { OrtInstance } from './instance.js';
import type { FromWorker, InstanceWorkerData } from './messages.js';
import { cleanReason, messageOf } from './reasons.js';
import { sessionOptions } from './session-options.js';
import { startWorker } from './spawn.js';
import { warmupPlans } from './warmup.js';
import { DEFAULT_WATCHDOG, type WatchdogSettings, watchdogSettings } from './watchdog.js';

/** Construction options of the ORT backend. */
export interface OrtBackendOptions {
  /** Delays before each restart attempt of a crashed instance; the length bounds the attempts. */
  restartDelaysMs?: number[];
  /**
   * Defaults of the worker watchdog (factor 2, floor 1000 ms); a model's `watchdog_factor` and
   * `watchdog_floor_ms` parameters override them (watchdog.ts).
   */
  watchdog?: Partial<WatchdogSettings>;
}

const DEFAULT_RESTART_DELAYS_MS = [0, 250, 1000, 4000];

/** A loaded version: its instances and an idempotent dispose. */
class OrtLoadedModel implements LoadedModel {
  #disposing: Promise<void> | undefined;
  constructor(
    readonly instances: readonly OrtInstance[],
    private readonly onDisposed: () => void,
  ) {}

  /** Every instance's session holds its own weights and arena, so the figures add up. */
  get memoryBytes(): number {
    return this.instances.reduce((n, i) => n + i.memoryBytes, 0);
  }

  /** Disposes every instance (after its in-flight work); idempotent. */
  dispose(): Promise<void> {
    this.#disposing ??= Promise.all(this.instances.map((i) => i.dispose())).then(() => this.onDisposed());
    return this.#disposing;
  }
}

/** Backend running onnxruntime-node sessions in worker threads. */
export class OrtBackend implements Backend {
  readonly name = 'onnxruntime';
  /** String tensors hold JS strings handed to ORT as C strings (backend/ort/worker-tensors.ts). */
  readonly bytesAsText = true;
  readonly platforms = ['onnxruntime_onnx'] as const;
  readonly #restartDelaysMs: number[];
  readonly #watchdog: WatchdogSettings;
  readonly #loaded = new Set<OrtLoadedModel>();
  readonly #inspecting = new Set<Promise<unknown>>();
  #workers = 0;
  #closed = false;

  constructor(options: OrtBackendOptions = {}) {
    this.#restartDelaysMs = options.restartDelaysMs ?? DEFAULT_RESTART_DELAYS_MS;
    const w = options.watchdog ?? {};
    this.#watchdog = { ...DEFAULT_WATCHDOG, ...w };
    // A floor given without a cold bound is the bound from the first run (tests, strict operators).
    if (w.floorMs !== undefined && w.coldMs === undefined) delete this.#watchdog.coldMs;
  }

  /** Worker threads currently running (instances and inspections). */
  get activeWorkers(): number {
    return this.#workers;
  }

  /** Reads a model's signature in a short-lived worker (from `source`'s bytes when given). */
  inspect(path: string, source?: ModelBytes): Promise<ModelIO> {
    if (this.#closed) return Promise.reject(new InferError('IG_ERR_UNAVAILABLE', 'backend is closed'));
    const p = this.#inspect(path, source);
    this.#inspecting.add(p);
    void p.catch(() => {}).finally(() => this.#inspecting.delete(p));
    return p;
  }

  #inspect(path: string, source: ModelBytes | undefined): Promise<ModelIO> {
    return new Promise<ModelIO>((resolve, reject) => {
      const fail = (reason: string) =>
        reject(
          new InferError('IG_ERR_MODEL_LOAD', `failed to read model signature: ${reason}`, {
            cause: new Error(`${path}: ${reason}`),
          }),
        );
      const w = startWorker(source ? { mode: 'inspect', path, source } : { mode: 'inspect', path });
      this.#workers++;
      let done = false;
      w.on('message', (m: FromWorker) => {
        done = true;
        if (m.type === 'inspected') resolve(m.io);
        else fail(m.type === 'init-error' ? m.message : 'unexpected reply');
        void w.terminate();
      });
      w.on('error', (err) => {
        done = true;
        fail(cleanReason(messageOf(err)));
      });
      w.on('exit', (code) => {
        this.#workers--;
        if (!done) fail(`inspection worker exited with code ${code}`);
      });
    });
  }

  /**
   * Starts spec.instances workers, each warming up; rejects with IG_ERR_MODEL_LOAD (a malformed
   * onnxruntime or watchdog parameter included) and stops them all on any failure.
   */
  async load(spec: ModelVersionSpec, options: LoadOptions = {}): Promise<LoadedModel> {
    if (this.#closed) throw new InferError('IG_ERR_UNAVAILABLE', 'backend is closed');
    const emit = (e: InstanceEvent) => options.onEvent?.(e);
    const data: InstanceWorkerData = {
      mode: 'instance',
      path: spec.path,
      options: sessionOptions(ortExecutionSettings(spec.model, spec.execution)),
      niceness: spec.execution.niceness,
      warmup: warmupPlans(spec),
    };
    const hooks = workerHooks(spec.model);
    if (hooks !== undefined) data.hooks = hooks;
    const watchdog = watchdogSettings(spec.model, spec.execution, this.#watchdog);
    // A test stand-in for a slow model (INFERGATE_TEST_SLEEP_MS) is slow from its first run on: a
    // real one would have a floor configured that allows for it.
    if (hooks !== undefined) watchdog.floorMs += hooks.sleepMs;
    // Shared with every instance and restart of this version: workers load these bytes, not the path.
    if (spec.source !== undefined) data.source = spec.source;
    const ctx = {
      restartDelaysMs: this.#restartDelaysMs,
      watchdog,
      emit,
      track: (d: number) => {
        this.#workers += d;
      },
    };
    const count = Math.max(1, spec.instances);
    const instances = Array.from(
      { length: count },
      (_, index) => new OrtInstance({ model: spec.model, version: spec.version, index }, data, ctx),
    );
    const started = await Promise.allSettled(instances.map((i) => i.start()));
    const failure = started.find((s) => s.status === 'rejected');
    if (failure !== undefined) {
      await Promise.all(instances.map((i) => i.dispose()));
      const reason = messageOf(failure.reason);
      throw new InferError(
        'IG_ERR_MODEL_LOAD',
        `failed to load model '${spec.model}' version ${spec.version}: ${reason}`,
        {
          cause: new Error(`${spec.path}: ${reason}`),
        },
      );
    }
    started.forEach((s, i) => {
      if (s.status === 'fulfilled')
        for (const message of s.value) emit({ type: 'warning', instance: instances[i]!.ref, message });
    });
    const model = new OrtLoadedModel(instances, () => this.#loaded.delete(model));
    this.#loaded.add(model);
    return model;
  }

  /** Disposes every model still loaded and waits for running inspections. */
  async close(): Promise<void> {
    this.#closed = true;
    await Promise.allSettled([...this.#inspecting]);
    await Promise.all([...this.#loaded].map((m) => m.dispose()));
  }
}
