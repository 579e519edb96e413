/**
 * One TypeScript model instance: its worker thread (thread.ts), the runs posted to it, and a
 * small state machine: starting → alive ⇄ (crashed | hung → restarting) → disposed.
 *
 * The worker runs one batch at a time, in posting order, so the oldest pending run is the one
 * executing. It is watched from when it became the oldest: when its bound passes (the batch's
 * deadline, else `execute_timeout_ms`) its requests are answered here at once
 * (IG_ERR_DEADLINE_EXCEEDED, or IG_ERR_MODEL_EXECUTION for the timeout) and the worker, which
 * watches the same bound, is expected to give the run up and answer it within `hangGraceMs`. A
 * worker that says nothing is stuck in synchronous code: it is terminated (thread.ts), everything
 * else in flight on it fails with IG_ERR_WORKER_HUNG and a new thread starts (the model's
 * `initialize` runs again). A thread that dies fails its in-flight runs with
 * IG_ERR_WORKER_CRASHED and restarts the same way, with bounded attempts.
 */
import {
  type CallContext,
  callContext,
  deadlineExceeded,
  InferError,
  inputNamed,
  type ModelCaller,
  notFound,
  type Tensor,
} from '../../core/index.js';
import { instanceLabel } from '../instance-ref.js';
import { emitSafely, Restarts } from '../restarts.js';
import type { WireRows, WireTensor } from '../ort/messages.js';
import { rowsToWire, tensorToWire, transferList, wireToTensor } from '../ort/wire.js';
import type { BackendInstance, ExecOptions, ExecResult, InstanceEvent, InstanceRef } from '../types.js';
import { answerCall } from './calls.js';
import { boundError, runError } from './errors.js';
import type { FromTsWorker, LogLevel, TsWorkerData } from './messages.js';
import { ModelThread } from './thread.js';

/** Where an instance's log lines go (the backend adds the model, version and instance). */
export type InstanceLog = (level: LogLevel, message: string, fields?: Record<string, unknown>) => void;

/** Wiring an instance gets from its backend. */
export interface TsInstanceContext {
  /** The worker entry threads start from. */
  url: URL;
  /** Delays before each restart attempt; its length bounds the attempts. */
  restartDelaysMs: readonly number[];
  /** How long a worker may stay silent after a run's bound before it counts as hung. */
  hangGraceMs: number;
  /** Bound of a thread's start: import, `initialize` and warm-up. */
  initializeTimeoutMs: number;
  emit(e: InstanceEvent): void;
  log: InstanceLog;
  caller: ModelCaller | undefined;
}

interface Pending {
  resolve: (r: ExecResult) => void;
  reject: (e: Error) => void;
  call: CallContext | undefined;
  deadline: number | undefined;
  /** Made when the run first calls another model: aborted when the run ends, cancelling what it left running. */
  calls?: AbortController;
}

/** A worker-backed BackendInstance running a TypeScript model. */
export class TsInstance implements BackendInstance {
  readonly id: string;
  #thread: ModelThread | undefined;
  #alive = false;
  #disposed = false;
  #disposing: Promise<void> | undefined;
  #memoryBytes = 0;
  readonly #restarts: Restarts;
  #down: 'crashed' | 'hung' = 'crashed';
  #nextId = 1;
  readonly #pending = new Map<number, Pending>();
  #idleWaiters: Array<() => void> = [];
  #startup: { resolve: () => void; reject: (e: Error) => void; timer: NodeJS.Timeout } | undefined;
  /** The oldest pending run (the one executing) and the timer of its bound. */
  #head: { id: number; timer: NodeJS.Timeout } | undefined;
  /** Runs answered here at their bound whose worker has not answered yet: its grace timer each. */
  readonly #silent = new Map<number, NodeJS.Timeout>();

  constructor(
    readonly ref: InstanceRef,
    private readonly data: TsWorkerData,
    private readonly ctx: TsInstanceContext,
  ) {
    this.id = instanceLabel(ref);
    this.#restarts = new Restarts({
      ref,
      delaysMs: ctx.restartDelaysMs,
      start: () => this.start(),
      emit: ctx.emit,
      disposed: () => this.#disposed,
      undo: () => void this.#stopThread(),
    });
  }

  get alive(): boolean {
    return this.#alive;
  }

  get inflight(): number {
    return this.#pending.size;
  }

  /** The thread's heap and external memory when it last became ready. */
  get memoryBytes(): number {
    return this.#memoryBytes;
  }

  /** Starts the thread; resolves once the model is initialized and warm, rejects with the reason. */
  start(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const ms = this.ctx.initializeTimeoutMs;
      const timer = setTimeout(() => {
        this.#failStartup(`initialize and warm-up did not finish within ${ms} ms (initialize_timeout_ms)`, true);
      }, ms);
      this.#startup = { resolve, reject, timer };
      const thread: ModelThread = new ModelThread(this.ctx.url, this.data, {
        message: (m) => this.#onMessage(thread, m),
        exit: (reason) => this.#onExit(thread, reason),
      });
      this.#thread = thread;
    });
  }

  execute(inputs: Tensor[], outputs?: string[], options?: ExecOptions): Promise<ExecResult> {
    return this.#run(() => inputs.map(tensorToWire), outputs, options);
  }

  /** The requests' rows go as they are; the worker joins them (off the event loop). */
  executeBatch(
    requests: ReadonlyArray<readonly Tensor[]>,
    outputs?: string[],
    options?: ExecOptions,
  ): Promise<ExecResult> {
    const names = (requests[0] ?? []).map((t) => t.name);
    return this.#run(() => names.map((n) => rowsToWire(requests.map((r) => inputNamed(r, n)))), outputs, options);
  }

  #run(
    toWire: () => Array<WireTensor | WireRows>,
    outputs: string[] | undefined,
    options: ExecOptions | undefined,
  ): Promise<ExecResult> {
    if (this.#disposed) return Promise.reject(notFound.notReady(this.ref.model, this.ref.version));
    const thread = this.#thread;
    if (!this.#alive || thread === undefined) return Promise.reject(this.#unavailable());
    const id = this.#nextId++;
    const deadline = options?.deadline === Number.POSITIVE_INFINITY ? undefined : options?.deadline;
    return new Promise<ExecResult>((resolve, reject) => {
      try {
        const inputs = toWire();
        thread.post(
          { type: 'run', id, inputs, ...(outputs ? { outputs } : {}), ...(deadline === undefined ? {} : { deadline }) },
          transferList(inputs),
        );
      } catch (err) {
        reject(
          err instanceof InferError
            ? err
            : new InferError('IG_ERR_INVALID_ARG', 'input tensors could not be sent to the model instance', {
                cause: err,
              }),
        );
        return;
      }
      this.#pending.set(id, { resolve, reject, call: options?.call, deadline });
      if (this.#pending.size === 1) this.#watchHead();
    });
  }

  /** Waits for in-flight runs (a stuck one is answered at its bound), then stops the thread. */
  dispose(): Promise<void> {
    this.#disposing ??= (async () => {
      this.#disposed = true;
      this.#restarts.cancel();
      if (this.#pending.size > 0) await new Promise<void>((r) => this.#idleWaiters.push(r));
      await this.#stopThread();
    })();
    return this.#disposing;
  }

  /** Ends the thread in order (the model's `finalize` runs) and waits until it is gone. */
  async #stopThread(): Promise<void> {
    this.#clearWatch();
    // A restart still starting is over: its start rejects (and no attempt follows a dispose).
    const startup = this.#startup;
    this.#startup = undefined;
    clearTimeout(startup?.timer);
    startup?.reject(new Error('the instance was disposed while starting'));
    const thread = this.#thread;
    this.#thread = undefined;
    this.#alive = false;
    await thread?.stop();
  }

  /** Test-only: the thread dies now, as a crash would (then restarts). */
  crashForTest(): void {
    this.#thread?.crash();
  }

  #onMessage(thread: ModelThread, m: FromTsWorker): void {
    if (thread !== this.#thread) return;
    switch (m.type) {
      case 'ready':
        this.#alive = true;
        this.#memoryBytes = m.memoryBytes;
        clearTimeout(this.#startup?.timer);
        this.#startup?.resolve();
        this.#startup = undefined;
        return;
      case 'init-error':
        this.#failStartup(m.message, false);
        return;
      case 'result':
        this.#settle(m.id, (p) => p.resolve({ outputs: m.outputs.map(wireToTensor), timing: m.timing }));
        return;
      case 'error':
        this.#settle(m.id, (p) => p.reject(this.#failed(m)));
        return;
      case 'expired':
        this.#settle(m.id, (p) => p.reject(deadlineExceeded()));
        return;
      case 'log':
        this.ctx.log(m.level, m.message, m.fields);
        return;
      case 'call':
        void answerCall(this.ctx.caller, m, this.#parentOf(m.run)).then((a) => {
          if (this.#thread === thread) thread.post(a.message, a.transfer);
        });
        return;
    }
  }

  /** The error of a failed run; the model's own failures are logged with their stack. */
  #failed(m: Extract<FromTsWorker, { type: 'error' }>): InferError {
    const err = runError(this.ref, m, this.data.executeTimeoutMs);
    if (m.failure === 'user' || m.failure === 'output')
      this.ctx.log(
        err.code === 'IG_ERR_INVALID_ARG' ? 'debug' : 'error',
        err.message,
        m.stack ? { stack: m.stack } : undefined,
      );
    return err;
  }

  /** The context a call made by run `run` runs in (undefined: that run was given up). */
  #parentOf(run: number | undefined): CallContext | undefined {
    // From initialize or warm-up: a call of its own, without deadline.
    if (run === undefined) return callContext({ protocol: 'http' });
    const p = this.#pending.get(run);
    if (p === undefined) return undefined;
    p.calls ??= new AbortController();
    const base =
      p.call ?? callContext({ protocol: 'http', ...(p.deadline === undefined ? {} : { deadline: p.deadline }) });
    const signal = base.signal ? AbortSignal.any([base.signal, p.calls.signal]) : p.calls.signal;
    return { ...base, signal };
  }

  #settle(id: number, f: (p: Pending) => void): void {
    clearTimeout(this.#silent.get(id));
    // The worker gave up a run answered at its bound: it moves on to the next one now.
    if (this.#silent.delete(id) && this.#silent.size === 0) this.#watchHead();
    const p = this.#pending.get(id);
    if (p === undefined) return;
    this.#pending.delete(id);
    p.calls?.abort();
    if (id === this.#head?.id) this.#watchHead();
    f(p);
    if (this.#pending.size === 0) this.#notifyIdle();
  }

  /**
   * Watches the oldest pending run from now until its bound; not while the worker has yet to give
   * up a run answered at its bound (the next run has not started: it is watched once it does, and
   * fails as IG_ERR_WORKER_HUNG if the worker never does).
   */
  #watchHead(): void {
    clearTimeout(this.#head?.timer);
    this.#head = undefined;
    const first = this.#pending.entries().next();
    if (first.done === true || this.#silent.size > 0) return;
    const [id, p] = first.value;
    const left = p.deadline === undefined ? Number.POSITIVE_INFINITY : p.deadline - Date.now();
    // Already late: the worker answers 'expired' without running it when its turn comes.
    if (left <= 0) return;
    const timeoutMs = this.data.executeTimeoutMs;
    const kind = left <= timeoutMs ? 'deadline' : 'timeout';
    const ms = Math.min(left, timeoutMs);
    // Timers run before I/O in a loop turn: an answer that arrived meanwhile is read first.
    const timer = setTimeout(() => setImmediate(() => this.#onBound(id, kind, ms)), ms);
    timer.unref();
    this.#head = { id, timer };
  }

  /** Run `id` outlived its bound: answer it now, and expect the worker to give it up. */
  #onBound(id: number, kind: 'deadline' | 'timeout', ms: number): void {
    const p = this.#pending.get(id);
    if (p === undefined || this.#head?.id !== id) return;
    this.#pending.delete(id);
    p.calls?.abort();
    const grace = setTimeout(() => this.#onHung(ms), this.ctx.hangGraceMs);
    grace.unref();
    this.#silent.set(id, grace);
    this.#watchHead();
    p.reject(boundError(this.ref, kind, this.data.executeTimeoutMs));
    if (this.#pending.size === 0) this.#notifyIdle();
  }

  /** The worker did not give up a run past its bound: it is stuck in synchronous code. */
  #onHung(boundMs: number): void {
    const thread = this.#thread;
    if (thread === undefined) return;
    const abandoned = this.#silent.size;
    this.#lose(thread, 'hung');
    thread.kill();
    const err = new InferError(
      'IG_ERR_WORKER_HUNG',
      `model instance '${this.id}' was stuck in a run that passed its bound; it is being restarted`,
    );
    const failed = this.#failAll(err);
    const ms = boundMs + this.ctx.hangGraceMs;
    emitSafely(this.ctx.emit, { type: 'hung', instance: this.ref, ms, failedRequests: failed + abandoned });
    this.ctx.log('error', `model instance '${this.id}' did not give up a run within ${ms} ms: terminated`);
    this.#restarts.begin('stuck in synchronous code');
  }

  #onExit(thread: ModelThread, reason: string): void {
    if (thread !== this.#thread) return;
    if (this.#startup !== undefined) {
      this.#failStartup(reason, false);
      return;
    }
    this.#lose(thread, 'crashed');
    const err = new InferError(
      'IG_ERR_WORKER_CRASHED',
      `model instance '${this.id}' crashed while executing the request; it is being restarted`,
      { cause: new Error(reason) },
    );
    const failed = this.#failAll(err);
    emitSafely(this.ctx.emit, { type: 'crash', instance: this.ref, reason, failedRequests: failed });
    this.#restarts.begin(reason);
  }

  /** The thread is gone: nothing is watched any more. */
  #lose(thread: ModelThread, why: 'crashed' | 'hung'): void {
    if (this.#thread === thread) this.#thread = undefined;
    this.#alive = false;
    this.#down = why;
    this.#clearWatch();
  }

  #clearWatch(): void {
    clearTimeout(this.#head?.timer);
    this.#head = undefined;
    for (const t of this.#silent.values()) clearTimeout(t);
    this.#silent.clear();
  }

  /** Fails every pending run with `err`; returns how many there were. */
  #failAll(err: InferError): number {
    const failed = [...this.#pending.values()];
    this.#pending.clear();
    for (const p of failed) {
      p.calls?.abort();
      p.reject(err);
    }
    this.#notifyIdle();
    return failed.length;
  }

  #notifyIdle(): void {
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const r of waiters) r();
  }

  /** The start failed: end the thread (`kill`: it may be stuck) and reject with the reason. */
  #failStartup(reason: string, kill: boolean): void {
    const s = this.#startup;
    this.#startup = undefined;
    clearTimeout(s?.timer);
    const thread = this.#thread;
    this.#thread = undefined;
    this.#alive = false;
    if (kill) thread?.kill();
    else void thread?.stop();
    s?.reject(new Error(reason));
  }

  /** Why a run cannot be posted now: retryable (503), it never reached a worker. */
  #unavailable(): InferError {
    const what = this.#down === 'hung' ? 'was stuck in a run' : 'crashed';
    const next = this.#restarts.gaveUp ? 'could not be restarted' : 'is restarting';
    return new InferError('IG_ERR_UNAVAILABLE', `model instance '${this.id}' is not available: it ${what} and ${next}`);
  }
}
