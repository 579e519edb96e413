/**
 * The onnxruntime backend: every session lives in a worker thread, so the event loop never loads
 * or runs a model (architecture rule 6). Small models share the threads of a pool (pool.ts, many
 * sessions per thread); large or isolated ones get a dedicated thread per instance (host.ts).
 */
import { stat } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import {
  DEFAULT_NICENESS,
  InferError,
  type ModelBytes,
  type ModelIO,
  type ModelVersionSpec,
} from '../../core/index.js';
import type { Backend, InstanceEvent, LoadedModel, LoadOptions } from '../types.js';
import { type OrtExecutionSettings, ortExecutionSettings } from './execution-settings.js';
import { DedicatedHost, type OpenHost } from './host.js';
import { workerHooks } from './hooks.js';
import { OrtInstance } from './instance.js';
import type { FromWorker, InspectWorkerData, InstanceWorkerData } from './messages.js';
import { SharedPool } from './pool.js';
import { cleanReason, messageOf } from './reasons.js';
import { sessionOptions } from './session-options.js';
import { startWorker, workerEntry } from './spawn.js';
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
  /** Most shared threads of the pool (default: the cores); 0 gives every instance its own thread. */
  sharedWorkers?: number;
  /** Largest model file, bytes, that `worker_pool: auto` places on the pool (default 4 MiB). */
  sharedMaxBytes?: number;
  /** Nice value of the shared threads (a model's own `niceness` applies to dedicated threads only). */
  sharedNiceness?: number;
}

const DEFAULT_RESTART_DELAYS_MS = [0, 250, 1000, 4000];
/** Small enough to share a thread: the OCR classifier (0.6 MB) is, its 4.7 MB detector is not. */
export const DEFAULT_SHARED_MAX_BYTES = 4 * 2 ** 20;

/** What decides a version's placement, besides the pool's own settings. */
export interface PlacementInput {
  workerPool: OrtExecutionSettings['workerPool'];
  fileBytes: number;
  /** The version's `niceness`: a thread's priority is per thread, so a different one needs its own. */
  niceness: number;
}

/**
 * Whether a version's sessions go on the shared pool: the config's `worker_pool` when it says
 * shared or dedicated; for 'auto', a file no larger than the threshold and the pool's niceness.
 */
export function onSharedPool(v: PlacementInput, pool: { size: number; maxBytes: number; niceness: number }): boolean {
  if (pool.size <= 0 || v.workerPool === 'dedicated') return false;
  return v.workerPool === 'shared' || (v.fileBytes <= pool.maxBytes && v.niceness === pool.niceness);
}

/** The model's size as the placement rule reads it: its bytes when given, else its file (0 if unreadable). */
async function modelFileBytes(path: string, source: ModelBytes | undefined): Promise<number> {
  if (source !== undefined) return source.bytes.byteLength;
  return stat(path).then(
    (s) => s.size,
    () => 0,
  );
}

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
  /** The shared pool's settings (size 0: no pool). */
  readonly #placement: { size: number; maxBytes: number; niceness: number };
  #pool: SharedPool | undefined;
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
    this.#placement = {
      size: options.sharedWorkers ?? availableParallelism(),
      maxBytes: options.sharedMaxBytes ?? DEFAULT_SHARED_MAX_BYTES,
      niceness: options.sharedNiceness ?? DEFAULT_NICENESS,
    };
  }

  /** Threads of the shared pool running now. */
  get sharedThreads(): number {
    return this.#pool?.threads ?? 0;
  }

  /** Sessions open on the shared pool now. */
  get sharedSessions(): number {
    return this.#pool?.sessions ?? 0;
  }

  /** Threads by kind and shared sessions, for the metrics (a retired hung thread counts as dedicated). */
  workerReading(): { sharedThreads: number; dedicatedThreads: number; sharedSessions: number } {
    const sharedThreads = this.sharedThreads;
    return { sharedThreads, dedicatedThreads: this.#workers - sharedThreads, sharedSessions: this.sharedSessions };
  }

  #track = (delta: number) => {
    this.#workers += delta;
  };

  /** The pool, started on first use with the (bundled) worker entry. */
  #sharedPool(url: URL): SharedPool {
    const { size, niceness } = this.#placement;
    this.#pool ??= new SharedPool({ size, url, niceness, track: this.#track });
    return this.#pool;
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

  async #inspect(path: string, source: ModelBytes | undefined): Promise<ModelIO> {
    const url = await workerEntry();
    const data: InspectWorkerData = source ? { mode: 'inspect', path, source } : { mode: 'inspect', path };
    const fail = (reason: string) =>
      new InferError('IG_ERR_MODEL_LOAD', `failed to read model signature: ${reason}`, {
        cause: new Error(`${path}: ${reason}`),
      });
    const fileBytes = await modelFileBytes(path, source);
    const shared = onSharedPool({ workerPool: 'auto', fileBytes, niceness: this.#placement.niceness }, this.#placement);
    if (shared)
      return this.#sharedPool(url)
        .inspect(data)
        .catch((err: unknown) => {
          throw fail(cleanReason(messageOf(err)));
        });
    return new Promise<ModelIO>((resolve, reject) => {
      const w = startWorker(data, url);
      this.#workers++;
      let done = false;
      w.on('message', (m: FromWorker) => {
        done = true;
        if (m.type === 'inspected') resolve(m.io);
        else reject(fail(m.type === 'init-error' ? m.message : 'unexpected reply'));
        void w.terminate();
      });
      w.on('error', (err) => {
        done = true;
        reject(fail(cleanReason(messageOf(err))));
      });
      w.on('exit', (code) => {
        this.#workers--;
        if (!done) reject(fail(`inspection worker exited with code ${code}`));
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
    const settings = ortExecutionSettings(spec.model, spec.execution);
    const url = await workerEntry();
    const data: InstanceWorkerData = {
      mode: 'instance',
      path: spec.path,
      options: sessionOptions(settings),
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
    const fileBytes = await modelFileBytes(spec.path, spec.source);
    const { niceness } = spec.execution;
    const shared = onSharedPool({ workerPool: settings.workerPool, fileBytes, niceness }, this.#placement);
    const group = `${spec.model}:${spec.version}`;
    const open: OpenHost = shared
      ? (d, events) => this.#sharedPool(url).open(d, events, group)
      : (d, events) => new DedicatedHost(url, d, events, this.#track);
    const ctx = { restartDelaysMs: this.#restartDelaysMs, watchdog, emit, open };
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
    await this.#pool?.close();
    this.#pool = undefined;
  }
}
