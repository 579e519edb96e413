import type { BackendInstance, ExecTiming, LoadedModel } from '../backend/types.js';
import { type Clock, InferError, type RequestTrace, systemClock } from '../core/index.js';
import { pickInstance } from './pick-instance.js';
import type { Job, JobResult, Scheduler } from './types.js';

interface Queued {
  job: Job;
  enqueuedAt: number;
  resolve: (r: JobResult) => void;
  reject: (e: unknown) => void;
  onAbort?: () => void;
}

/** Options for the request-at-a-time scheduler. */
export interface FifoSchedulerOptions {
  clock?: Clock;
  /** Called when a queued job is dropped because its client went away (for statistics). */
  onCancelled?: () => void;
  /** Called once per model execution with its batch size and stage times (for statistics). */
  onExecution?: (batchSize: number, timing: ExecTiming) => void;
  /** Called once per execution that carried traced requests, with its start/end (Clock ms). */
  onTracedBatch?: (traces: RequestTrace[], startMs: number, endMs: number, batchSize: number) => void;
}

/**
 * Request-at-a-time scheduling: one FIFO queue per model version, each job executed alone on the
 * least-loaded free instance. The dynamic batcher replaces this for models with dynamic_batching.
 * A job whose client aborted while queued is removed and never reaches a worker.
 */
export class FifoScheduler implements Scheduler {
  private readonly queue: Queued[] = [];
  private running = 0;
  private draining = false;
  private drainWaiters: Array<() => void> = [];
  private readonly clock: Clock;

  constructor(
    private readonly loaded: LoadedModel,
    private readonly options: FifoSchedulerOptions = {},
  ) {
    this.clock = options.clock ?? systemClock;
  }

  get pending(): number {
    return this.queue.length;
  }

  get inflight(): number {
    return this.running;
  }

  /** Queues a job; resolves with its outputs, rejects with an InferError. */
  submit(job: Job): Promise<JobResult> {
    if (this.draining) return Promise.reject(new InferError('IG_ERR_UNAVAILABLE', 'model version is unloading'));
    if (job.signal?.aborted) return Promise.reject(cancelled());
    return new Promise<JobResult>((resolve, reject) => {
      const q: Queued = { job, enqueuedAt: this.clock.now(), resolve, reject };
      if (job.signal) {
        q.onAbort = () => this.dropQueued(q);
        job.signal.addEventListener('abort', q.onAbort, { once: true });
      }
      this.queue.push(q);
      this.pump();
    });
  }

  /** Stops accepting jobs; resolves once the queue is empty and nothing runs. */
  drain(): Promise<void> {
    this.draining = true;
    if (this.queue.length === 0 && this.running === 0) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  private dropQueued(q: Queued): void {
    const i = this.queue.indexOf(q);
    if (i < 0) return;
    this.queue.splice(i, 1);
    this.options.onCancelled?.();
    q.reject(cancelled());
    this.settleDrain();
  }

  private pump(): void {
    while (this.queue.length > 0) {
      const idx = pickInstance(this.loaded.instances);
      if (idx < 0) {
        if (this.loaded.instances.every((i) => !i.alive)) this.failAllQueued();
        return;
      }
      const q = this.queue.shift()!;
      this.run(this.loaded.instances[idx]!, q);
    }
  }

  private failAllQueued(): void {
    // Every instance is dead (restarting): fail fast rather than queue behind a crash loop.
    for (const q of this.queue.splice(0)) {
      this.detach(q);
      q.reject(new InferError('IG_ERR_WORKER_CRASHED', 'no live instance of the model is available; it is restarting'));
    }
    this.settleDrain();
  }

  private run(instance: BackendInstance, q: Queued): void {
    this.detach(q);
    this.running++;
    const startedAt = this.clock.now();
    const queueNs = Math.round((startedAt - q.enqueuedAt) * 1e6);
    instance
      .execute(q.job.inputs, q.job.outputs)
      .then(
        (r) => {
          this.options.onExecution?.(q.job.batchSize, r.timing);
          if (q.job.trace) this.options.onTracedBatch?.([q.job.trace], startedAt, this.clock.now(), q.job.batchSize);
          q.resolve({ ...r, queueNs, executedBatchSize: q.job.batchSize });
        },
        (e) => q.reject(e),
      )
      .finally(() => {
        this.running--;
        this.pump();
        this.settleDrain();
      });
  }

  private detach(q: Queued): void {
    if (q.onAbort) q.job.signal?.removeEventListener('abort', q.onAbort);
  }

  private settleDrain(): void {
    if (!this.draining || this.queue.length > 0 || this.running > 0) return;
    for (const w of this.drainWaiters.splice(0)) w();
  }
}

function cancelled(): InferError {
  return new InferError('IG_ERR_CANCELLED', 'request was cancelled by the client before it ran');
}
