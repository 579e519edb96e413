import type { LoadedModel } from '../backend/types.js';
import type { InferError } from '../core/index.js';
import { pickInstance } from './pick-instance.js';
import { SchedulerCore, type SchedulerOptions, type Ticket } from './scheduler-core.js';
import type { Job, JobResult, Scheduler } from './types.js';

/** Options for the request-at-a-time scheduler (it has no queue policy: it only rejects for 'deadline'). */
export type FifoSchedulerOptions = SchedulerOptions;

/**
 * Request-at-a-time scheduling: one FIFO queue per model version, each job executed alone on the
 * least-loaded free instance. The dynamic batcher replaces this for models with dynamic_batching.
 * A `concurrent` model (an ensemble, a feature-store lookup) has no queue to speak of: each job
 * goes to a live instance at once, however many run there already.
 * Everything else (cancellation, deadlines, dead instances, drain, hooks) is the shared core's.
 */
export class FifoScheduler implements Scheduler {
  private readonly queue: Ticket[] = [];
  private readonly core: SchedulerCore;
  /** Executions one instance runs at once: 1, or unbounded for a `concurrent` model. */
  private readonly maxInflight: number;

  constructor(loaded: LoadedModel, options: FifoSchedulerOptions = {}) {
    this.maxInflight = loaded.concurrent === true ? Number.POSITIVE_INFINITY : 1;
    this.core = new SchedulerCore(loaded, options, {
      queued: () => this.queue.length,
      tickets: () => this.queue,
      take: (t) => {
        const i = this.queue.indexOf(t);
        if (i < 0) return false;
        this.queue.splice(i, 1);
        return true;
      },
      step: (now) => this.step(now),
    });
  }

  get pending(): number {
    return this.queue.length;
  }

  get inflight(): number {
    return this.core.inflight;
  }

  /** Queues a job; resolves with its outputs, rejects with an InferError. */
  submit(job: Job): Promise<JobResult> {
    const refused = this.core.refuse(job);
    if (refused) return Promise.reject(refused);
    return this.core.accept(job, (t) => {
      this.queue.push(t);
      // At once, not on a microtask: there is nothing to batch with.
      this.core.pump();
    });
  }

  /** Stops accepting jobs; resolves once the queue is empty and nothing runs. */
  drain(): Promise<void> {
    return this.core.drain();
  }

  abandon(err: InferError): void {
    this.core.abandon(err);
  }

  /** Hands the head of the queue to each free instance in turn. */
  private step(now: number): number {
    this.core.failIfAllDead();
    while (this.queue.length > 0) {
      const idx = pickInstance(this.core.loads(), this.maxInflight);
      if (idx < 0) break;
      this.core.execute(idx, [this.queue.shift()!], now);
    }
    return Number.POSITIVE_INFINITY;
  }
}
