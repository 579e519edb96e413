/**
 * One model instance: one ORT session on a host (host.ts: its own worker thread, or a slot in a
 * shared one from pool.ts). A small state machine:
 * starting → alive ⇄ (crashed | hung → restarting) → disposed. Requests are matched to replies by
 * id; a crash fails only this instance's in-flight requests, then the worker is re-created (bounded
 * retries). The watchdog (watchdog.ts) watches the worker's oldest unanswered run: past its bound the
 * worker is declared hung, every request in flight on it fails with IG_ERR_WORKER_HUNG, and a new
 * worker starts on the crash's restart path without waiting for the hung one, which is dropped.
 */
import { deadlineExceeded, InferError, inputNamed, notFound, type Tensor } from '../../core/index.js';
import { instanceLabel } from '../instance-ref.js';
import { emitSafely, Restarts } from '../restarts.js';
import type { BackendInstance, ExecOptions, ExecResult, InstanceEvent, InstanceRef } from '../types.js';
import type { OpenHost, SessionHost } from './host.js';
import type { FromWorker, InstanceWorkerData, ToWorker, WireRows, WireTensor } from './messages.js';
import { clientExecutionMessage } from './reasons.js';
import { DurationWindow, type Watch, type WatchdogSettings, watchdogBoundMs, watchdogVerdict } from './watchdog.js';
import { rowsToWire, tensorToWire, transferList, wireToTensor } from './wire.js';

interface Pending {
  resolve: (r: ExecResult) => void;
  reject: (e: Error) => void;
}

/** Wiring an instance gets from its backend. */
export interface InstanceContext {
  /** Delays before each restart attempt; its length bounds the attempts. */
  restartDelaysMs: readonly number[];
  /** When a run's worker counts as hung (the version's, see watchdog.ts). */
  watchdog: WatchdogSettings;
  emit: (e: InstanceEvent) => void;
  /** Opens the session's host: a dedicated worker or a slot on the shared pool (the backend decides). */
  open: OpenHost;
}

/** A worker-backed BackendInstance. */
export class OrtInstance implements BackendInstance {
  /** Readable id for logs and error texts; events carry `ref`. */
  readonly id: string;
  #host: SessionHost | undefined;
  #alive = false;
  #disposed = false;
  #disposing: Promise<void> | undefined;
  #memoryBytes = 0;
  /** Why the worker is down, for the answer to calls made meanwhile. */
  #down: 'crashed' | 'hung' = 'crashed';
  #nextId = 1;
  readonly #pending = new Map<number, Pending>();
  #idleWaiters: Array<() => void> = [];
  readonly #restarts: Restarts;
  #startup: { resolve: (warnings: string[]) => void; reject: (e: Error) => void } | undefined;
  /** Successful runs' durations, the watchdog's p99; kept across restarts (it describes the model). */
  readonly #durations = new DurationWindow();
  /** The oldest pending run (the one the worker is executing): since when, and its bound. */
  #watch: (Watch & { id: number }) | undefined;
  /** One wake-up timer, re-armed only when it fires early or a nearer bound appears. */
  #watchTimer: NodeJS.Timeout | undefined;
  #watchTimerDue = Number.POSITIVE_INFINITY;

  constructor(
    readonly ref: InstanceRef,
    private readonly data: InstanceWorkerData,
    private readonly ctx: InstanceContext,
  ) {
    this.id = instanceLabel(ref);
    this.#restarts = new Restarts({
      ref,
      delaysMs: ctx.restartDelaysMs,
      start: () => this.start(),
      emit: (e) => ctx.emit(e),
      disposed: () => this.#disposed,
      undo: () => void this.#stop(),
    });
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
      let host: SessionHost | undefined;
      host = this.ctx.open(this.data, {
        message: (m) => this.#onMessage(host, m),
        exit: (reason) => this.#onExit(host, reason),
      });
      this.#host = host;
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
    const h = this.#host;
    if (!this.#alive || h === undefined) return Promise.reject(this.#unavailable());
    const id = this.#nextId++;
    return new Promise<ExecResult>((resolve, reject) => {
      try {
        const wire = toWire();
        const msg: Extract<ToWorker, { type: 'run' }> = { type: 'run', id, inputs: wire };
        if (outputs !== undefined) msg.outputs = outputs;
        if (deadline !== undefined) msg.deadline = deadline;
        h.post(msg, transferList(wire));
        this.#pending.set(id, { resolve, reject });
        if (this.#pending.size === 1) this.#watchHead(performance.now());
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
      this.#restarts.cancel();
      // Still watched meanwhile: a hung run is failed by the watchdog, so this wait ends.
      if (this.#pending.size > 0) await new Promise<void>((r) => this.#idleWaiters.push(r));
      clearTimeout(this.#watchTimer);
      await this.#stop();
    })();
    return this.#disposing;
  }

  /** Test-only (INFERGATE_TEST_HOOKS=1 in the worker's environment): makes the worker exit now. */
  crashForTest(): void {
    this.#host?.crash();
  }

  /** Ends the session (host.ts: never inside a native call) and waits until it is gone. */
  async #stop(): Promise<void> {
    const h = this.#host;
    this.#host = undefined;
    this.#alive = false;
    await h?.stop();
  }

  #onMessage(h: SessionHost | undefined, m: FromWorker): void {
    if (h !== this.#host) return;
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
        if (m.id === this.#watch?.id) this.#durations.record(performance.now() - this.#watch.since);
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
    // The worker answers in order, so the next pending run starts now.
    if (id === this.#watch?.id) this.#watchHead(performance.now());
    f(p);
    if (this.#pending.size === 0) this.#notifyIdle();
  }

  /** Watches the oldest pending run from `now` (none left: nothing to watch). */
  #watchHead(now: number): void {
    const head = this.#pending.keys().next();
    if (head.done === true) {
      this.#watch = undefined;
      return;
    }
    const boundMs = watchdogBoundMs(this.ctx.watchdog, this.#durations.p99());
    this.#watch = { id: head.value, since: now, boundMs };
    if (now + boundMs < this.#watchTimerDue) this.#armWatchdog(now, boundMs);
  }

  #armWatchdog(now: number, inMs: number): void {
    clearTimeout(this.#watchTimer);
    this.#watchTimerDue = now + inMs;
    this.#watchTimer = setTimeout(() => this.#onWatchdog(), inMs);
    // A pending run's worker keeps the process alive; the watchdog alone must not.
    this.#watchTimer.unref();
  }

  #onWatchdog(): void {
    this.#watchTimer = undefined;
    this.#watchTimerDue = Number.POSITIVE_INFINITY;
    const watch = this.#watch;
    if (watch === undefined) return;
    const now = performance.now();
    // A shared thread that answered other sessions meanwhile was busy, not stuck (host.ts).
    const progress = this.#host?.progressAt ?? 0;
    const v = watchdogVerdict(progress > watch.since ? { ...watch, since: progress } : watch, now);
    if (!v.hung) {
      this.#armWatchdog(now, v.inMs);
      return;
    }
    // Timers run before I/O in a loop turn: an answer that arrived while this thread was busy is
    // read first (poll phase), so a late event loop never declares an answered run hung.
    setImmediate(() => {
      if (this.#watch === watch) this.#onHung(watch.boundMs);
    });
  }

  /**
   * The worker did not answer within `boundMs`: fail everything in flight on it, drop it and start
   * a replacement on the crash's restart path without waiting for it to exit.
   *
   * It is asked to stop (host.abandon()), never terminate()d: measured on onnxruntime-node 1.30 / Node 20, a
   * Worker.terminate() that lands while the thread is inside a native session.run or session
   * creation aborts the whole process ('terminate called after throwing an instance of
   * Napi::Error') once the native call returns. A worker stuck in a long run handles 'stop' as soon
   * as that run returns and exits cleanly; one stuck for good stays until the process ends (unref:
   * it does not keep the process alive). Its later 'message' and 'exit' events are ignored (it is
   * not this.#worker) except for the worker count.
   */
  #onHung(boundMs: number): void {
    const h = this.#host;
    if (h === undefined) return;
    this.#host = undefined;
    this.#alive = false;
    this.#down = 'hung';
    this.#watch = undefined;
    h.abandon();
    const failed = [...this.#pending.values()];
    this.#pending.clear();
    const reason = `did not answer within ${boundMs} ms`;
    const err = new InferError('IG_ERR_WORKER_HUNG', `model instance '${this.id}' ${reason}; it is being replaced`);
    for (const p of failed) p.reject(err);
    this.#notifyIdle();
    this.#emit({ type: 'hung', instance: this.ref, ms: boundMs, failedRequests: failed.length });
    if (!this.#disposed) this.#restarts.begin(reason);
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

  #onExit(h: SessionHost | undefined, reason: string): void {
    if (h !== this.#host) return; // stopped on purpose, or already replaced
    if (this.#startup !== undefined) {
      this.#failStartup(reason);
      return;
    }
    this.#host = undefined;
    this.#alive = false;
    this.#down = 'crashed';
    this.#watch = undefined;
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
    if (!this.#disposed) this.#restarts.begin(reason);
  }

  #unavailable(): InferError {
    const hung = this.#down === 'hung';
    const [what, again] = hung ? ['did not answer', 'replaced'] : ['crashed', 'restarted'];
    const state = this.#restarts.gaveUp ? `could not be ${again}` : `is being ${again}`;
    // The request never reached a worker: retryable (503) either way, unlike a crash mid-run (500).
    const code = hung ? 'IG_ERR_WORKER_HUNG' : 'IG_ERR_UNAVAILABLE';
    return new InferError(code, `model instance '${this.id}' is not available: it ${what} and ${state}`);
  }

  #emit(e: InstanceEvent): void {
    emitSafely((x) => this.ctx.emit(x), e);
  }
}
