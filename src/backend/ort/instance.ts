/**
 * One model instance: a worker thread holding one ORT session. A small state machine:
 * starting → alive ⇄ (crashed → restarting) → disposed. Requests are matched to replies by id;
 * a crash fails only this instance's in-flight requests, then the worker is re-created (bounded retries).
 */
import type { Worker } from 'node:worker_threads';
import { deadlineExceeded, InferError, inputNamed, notFound, type Tensor } from '../../core/index.js';
import { instanceLabel } from '../instance-ref.js';
import type { BackendInstance, ExecOptions, ExecResult, InstanceEvent, InstanceRef } from '../types.js';
import type { FromWorker, InstanceWorkerData, ToWorker, WireRows, WireTensor } from './messages.js';
import { cleanReason, clientExecutionMessage, messageOf } from './reasons.js';
import { startWorker } from './spawn.js';
import { rowsToWire, tensorToWire, transferList, wireToTensor } from './wire.js';

/** How long a worker asked to stop may take before it is terminated. */
const STOP_GRACE_MS = 5_000;

interface Pending {
  resolve: (r: ExecResult) => void;
  reject: (e: Error) => void;
}

/** Wiring an instance gets from its backend. */
export interface InstanceContext {
  /** Delays before each restart attempt; its length bounds the attempts. */
  restartDelaysMs: readonly number[];
  emit: (e: InstanceEvent) => void;
  /** Counts live workers (backend-wide, for tests and close()). */
  track: (delta: number) => void;
}

/** A worker-backed BackendInstance. */
export class OrtInstance implements BackendInstance {
  /** Readable id for logs and error texts; events carry `ref`. */
  readonly id: string;
  #worker: Worker | undefined;
  #alive = false;
  #disposed = false;
  #disposing: Promise<void> | undefined;
  #memoryBytes = 0;
  #restartFailed = false;
  #nextId = 1;
  readonly #pending = new Map<number, Pending>();
  #idleWaiters: Array<() => void> = [];
  #restartTimer: NodeJS.Timeout | undefined;
  #startup: { resolve: (warnings: string[]) => void; reject: (e: Error) => void } | undefined;

  constructor(
    readonly ref: InstanceRef,
    private readonly data: InstanceWorkerData,
    private readonly ctx: InstanceContext,
  ) {
    this.id = instanceLabel(ref);
  }

  get alive(): boolean {
    return this.#alive;
  }

  get inflight(): number {
    return this.#pending.size;
  }

  /** What the session held when its worker last became ready (see worker-memory.ts). */
  get memoryBytes(): number {
    return this.#memoryBytes;
  }

  /** Starts the worker; resolves with provider warnings once the session is warm, rejects with a clean reason. */
  start(): Promise<string[]> {
    return new Promise<string[]>((resolve, reject) => {
      this.#startup = { resolve, reject };
      const w = startWorker(this.data);
      this.#worker = w;
      this.ctx.track(1);
      let lastError = '';
      w.on('message', (m: FromWorker) => this.#onMessage(w, m));
      w.on('error', (err) => {
        lastError = cleanReason(messageOf(err));
      });
      w.on('exit', (code) => {
        this.ctx.track(-1);
        this.#onExit(w, lastError || `worker exited with code ${code}`);
      });
    });
  }

  /** Runs one batch on this instance's worker (see BackendInstance.execute). */
  execute(inputs: Tensor[], outputs?: string[], options?: ExecOptions): Promise<ExecResult> {
    return this.#run(() => inputs.map(tensorToWire), outputs, options?.deadline);
  }

  /** Runs one batch given per request; the worker joins the rows (see BackendInstance.executeBatch). */
  executeBatch(
    requests: ReadonlyArray<readonly Tensor[]>,
    outputs?: string[],
    options?: ExecOptions,
  ): Promise<ExecResult> {
    return this.#run(
      () => (requests[0] ?? []).map((t) => rowsToWire(requests.map((r) => inputNamed(r, t.name)))),
      outputs,
      options?.deadline,
    );
  }

  #run(
    toWire: () => Array<WireTensor | WireRows>,
    outputs: string[] | undefined,
    deadline: number | undefined,
  ): Promise<ExecResult> {
    if (this.#disposed) return Promise.reject(notFound.notReady(this.ref.model, this.ref.version));
    const w = this.#worker;
    if (!this.#alive || w === undefined) return Promise.reject(this.#unavailable());
    const id = this.#nextId++;
    return new Promise<ExecResult>((resolve, reject) => {
      try {
        const wire = toWire();
        const msg: Extract<ToWorker, { type: 'run' }> = { type: 'run', id, inputs: wire };
        if (outputs !== undefined) msg.outputs = outputs;
        if (deadline !== undefined) msg.deadline = deadline;
        w.postMessage(msg, transferList(wire));
        this.#pending.set(id, { resolve, reject });
      } catch (err) {
        if (err instanceof InferError) reject(err);
        else
          reject(
            new InferError('IG_ERR_INVALID_ARG', 'input tensors could not be sent to the model instance', {
              cause: err,
            }),
          );
      }
    });
  }

  /** Waits for in-flight requests, then stops the worker; idempotent (every call gets the same promise). */
  dispose(): Promise<void> {
    this.#disposing ??= (async () => {
      this.#disposed = true;
      clearTimeout(this.#restartTimer);
      if (this.#pending.size > 0) await new Promise<void>((r) => this.#idleWaiters.push(r));
      await this.#stop();
    })();
    return this.#disposing;
  }

  /** Test-only (INFERGATE_TEST_HOOKS=1 in the worker's environment): makes the worker exit now. */
  crashForTest(): void {
    this.#worker?.postMessage({ type: '__crash__' } satisfies ToWorker);
  }

  /**
   * Asks the worker to exit and waits for it. Messages are handled only between onnxruntime's
   * synchronous native calls, so the exit never lands inside one; Worker.terminate() can (e.g. in
   * session creation or warm-up) and that aborts the whole process. terminate() stays the fallback
   * for a worker that does not answer in time.
   */
  async #stop(): Promise<void> {
    const w = this.#worker;
    this.#worker = undefined;
    this.#alive = false;
    if (w === undefined || w.threadId < 0) return; // never started, or already gone
    const exited = new Promise<void>((resolve) => w.once('exit', () => resolve()));
    w.postMessage({ type: 'stop' } satisfies ToWorker);
    const force = setTimeout(() => void w.terminate(), STOP_GRACE_MS);
    await exited;
    clearTimeout(force);
  }

  #onMessage(w: Worker, m: FromWorker): void {
    if (w !== this.#worker) return;
    switch (m.type) {
      case 'ready':
        this.#alive = true;
        this.#memoryBytes = m.memoryBytes;
        this.#startup?.resolve(m.warnings);
        this.#startup = undefined;
        return;
      case 'init-error':
        this.#failStartup(m.message);
        return;
      case 'result':
        this.#settle(m.id, (p) => p.resolve({ outputs: m.outputs.map(wireToTensor), timing: m.timing }));
        return;
      case 'error':
        this.#settle(m.id, (p) =>
          p.reject(
            m.code === undefined
              ? new InferError('IG_ERR_MODEL_EXECUTION', clientExecutionMessage(m.message), {
                  cause: new Error(m.message),
                })
              : new InferError(m.code, m.message),
          ),
        );
        return;
      case 'expired':
        this.#settle(m.id, (p) => p.reject(deadlineExceeded()));
        return;
      default:
        return;
    }
  }

  #settle(id: number, f: (p: Pending) => void): void {
    const p = this.#pending.get(id);
    if (p === undefined) return;
    this.#pending.delete(id);
    f(p);
    if (this.#pending.size === 0) this.#notifyIdle();
  }

  #notifyIdle(): void {
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const r of waiters) r();
  }

  #failStartup(reason: string): void {
    const s = this.#startup;
    this.#startup = undefined;
    void this.#stop();
    s?.reject(new Error(reason));
  }

  #onExit(w: Worker, reason: string): void {
    if (w !== this.#worker) return; // terminated on purpose, or already replaced
    if (this.#startup !== undefined) {
      this.#failStartup(reason);
      return;
    }
    this.#worker = undefined;
    this.#alive = false;
    const failed = [...this.#pending.values()];
    this.#pending.clear();
    const err = new InferError(
      'IG_ERR_WORKER_CRASHED',
      `model instance '${this.id}' crashed while executing the request; it is being restarted`,
      { cause: new Error(reason) },
    );
    for (const p of failed) p.reject(err);
    this.#notifyIdle();
    this.#emit({ type: 'crash', instance: this.ref, reason, failedRequests: failed.length });
    if (!this.#disposed) this.#scheduleRestart(0, performance.now(), reason);
  }

  #scheduleRestart(attempt: number, since: number, lastReason: string): void {
    const delays = this.ctx.restartDelaysMs;
    if (attempt >= delays.length) {
      this.#restartFailed = true;
      this.#emit({
        type: 'restart-failed',
        instance: this.ref,
        reason: `gave up after ${attempt} attempts: ${lastReason}`,
      });
      return;
    }
    this.#restartTimer = setTimeout(() => {
      this.start().then(
        () => {
          if (this.#disposed) void this.#stop();
          else this.#emit({ type: 'restart', instance: this.ref, ms: Math.round(performance.now() - since) });
        },
        (err: Error) => {
          if (!this.#disposed) this.#scheduleRestart(attempt + 1, since, err.message);
        },
      );
    }, delays[attempt]);
  }

  #unavailable(): InferError {
    const state = this.#restartFailed ? 'crashed and could not be restarted' : 'crashed and is being restarted';
    return new InferError('IG_ERR_WORKER_CRASHED', `model instance '${this.id}' is not available: it ${state}`);
  }

  #emit(e: InstanceEvent): void {
    try {
      this.ctx.emit(e);
    } catch {
      // An observer's failure must not break the instance.
    }
  }
}
