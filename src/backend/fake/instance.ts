/**
 * An in-process fake instance: executes one request at a time (like a worker with one session),
 * with an optional timer delay, injectable execution failures and crashes. A job whose deadline
 * has passed when its turn comes is rejected without running, as the ORT worker does.
 */
import { deadlineExceeded, InferError, notFound, type Tensor } from '../../core/index.js';
import { instanceLabel } from '../instance-ref.js';
import type { BackendInstance, ExecOptions, ExecResult, InstanceEvent, InstanceRef } from '../types.js';
import { type FakeModelDef, identityCompute } from './models.js';

/** How a FakeInstance reports to its backend. */
export interface FakeInstanceContext {
  def: FakeModelDef;
  restartDelayMs: number;
  emit: (e: InstanceEvent) => void;
  /** Called with every execution (for assertions on routing and batching). */
  record: (instance: string, inputs: Tensor[]) => void;
}

interface Job {
  inputs: Tensor[];
  outputs: string[] | undefined;
  deadline: number | undefined;
  resolve: (r: ExecResult) => void;
  reject: (e: Error) => void;
}

/** Deterministic in-process BackendInstance. */
export class FakeInstance implements BackendInstance {
  /** Readable id for logs, error texts and `executions`; events carry `ref`. */
  readonly id: string;
  #alive = true;
  #disposed = false;
  #disposing: Promise<void> | undefined;
  #failures: string[] = [];
  #queue: Job[] = [];
  #running: { job: Job; timer: NodeJS.Timeout } | undefined;
  #idle: Array<() => void> = [];
  /** When false, the next restart after a crash fails (restart-failed) and the instance stays dead. */
  restartSucceeds = true;

  constructor(
    readonly ref: InstanceRef,
    private readonly ctx: FakeInstanceContext,
  ) {
    this.id = instanceLabel(ref);
  }

  get alive(): boolean {
    return this.#alive;
  }

  get inflight(): number {
    return this.#queue.length + (this.#running ? 1 : 0);
  }

  /** Queues one execution (see BackendInstance.execute). */
  execute(inputs: Tensor[], outputs?: string[], options?: ExecOptions): Promise<ExecResult> {
    if (this.#disposed) return Promise.reject(notFound.notReady(this.ref.model, this.ref.version));
    if (!this.#alive)
      return Promise.reject(
        new InferError('IG_ERR_UNAVAILABLE', `model instance '${this.id}' is not available: it crashed`),
      );
    return new Promise<ExecResult>((resolve, reject) => {
      this.#queue.push({ inputs, outputs, deadline: options?.deadline, resolve, reject });
      this.#next();
    });
  }

  /** Makes the next execution on this instance reject with IG_ERR_MODEL_EXECUTION. */
  failNextExecute(message = 'injected execution failure'): void {
    this.#failures.push(message);
  }

  /** Simulates a worker crash: in-flight requests fail, then the instance restarts after restartDelayMs. */
  crash(reason = 'injected crash'): void {
    if (!this.#alive || this.#disposed) return;
    this.#alive = false;
    const failed = [...(this.#running ? [this.#running.job] : []), ...this.#queue];
    if (this.#running) clearTimeout(this.#running.timer);
    this.#running = undefined;
    this.#queue = [];
    const err = new InferError(
      'IG_ERR_WORKER_CRASHED',
      `model instance '${this.id}' crashed while executing the request; it is being restarted`,
      { cause: new Error(reason) },
    );
    for (const j of failed) j.reject(err);
    this.#notifyIdle();
    this.ctx.emit({ type: 'crash', instance: this.ref, reason, failedRequests: failed.length });
    setTimeout(() => this.#restart(), this.ctx.restartDelayMs);
  }

  /** Waits for queued and running work, then refuses new work; idempotent (every call gets the same promise). */
  dispose(): Promise<void> {
    this.#disposing ??= (async () => {
      this.#disposed = true;
      if (this.inflight > 0) await new Promise<void>((r) => this.#idle.push(r));
      this.#alive = false;
    })();
    return this.#disposing;
  }

  #restart(): void {
    if (this.#disposed) return;
    if (!this.restartSucceeds) {
      this.ctx.emit({ type: 'restart-failed', instance: this.ref, reason: 'injected restart failure' });
      return;
    }
    this.#alive = true;
    this.ctx.emit({ type: 'restart', instance: this.ref, ms: this.ctx.restartDelayMs });
  }

  #next(): void {
    if (this.#running !== undefined) return;
    const job = this.#queue.shift();
    if (job === undefined) {
      this.#notifyIdle();
      return;
    }
    if (job.deadline !== undefined && Date.now() > job.deadline) {
      job.reject(deadlineExceeded());
      this.#next();
      return;
    }
    const delay = this.ctx.def.delayMs ?? 0;
    const timer = setTimeout(() => {
      this.#running = undefined;
      this.#finish(job, delay);
      this.#next();
    }, delay);
    this.#running = { job, timer };
  }

  #finish(job: Job, delay: number): void {
    const failure = this.#failures.shift();
    if (failure !== undefined) {
      job.reject(new InferError('IG_ERR_MODEL_EXECUTION', failure));
      return;
    }
    try {
      this.ctx.record(this.id, job.inputs);
      const compute = this.ctx.def.compute ?? identityCompute(this.ctx.def.io);
      const all = compute(job.inputs);
      const outputs = job.outputs === undefined ? all : all.filter((t) => job.outputs?.includes(t.name));
      job.resolve({ outputs, timing: { inputNs: 0, inferNs: delay * 1e6, outputNs: 0 } });
    } catch (err) {
      job.reject(err instanceof InferError ? err : new InferError('IG_ERR_MODEL_EXECUTION', String(err)));
    }
  }

  #notifyIdle(): void {
    if (this.inflight > 0) return;
    const w = this.#idle;
    this.#idle = [];
    for (const r of w) r();
  }
}
