/**
 * The dynamic batcher's driver: a thin loop around the pure parts (queue-policy.ts sweeps
 * timeouts, decision.ts picks the batch and the instance, batch-config.ts says what config it
 * decides with) on the shared core (scheduler-core.ts: admission, cancellation, deadlines, dead
 * instances, execution and answers, hooks, drain). It keeps one queue in dispatch order and wakes
 * on every arrival, completion, cancellation and timer.
 * Ownership: a job's input tensors belong to the scheduler from submit on (they are transferred to
 * the worker as they are and joined there when the backend has executeBatch, else concatenated
 * here; a batch of one is never copied); outputs are views, see split.ts.
 */
import type { LoadedModel } from '../backend/types.js';
import type { DynamicBatchingSpec, InferError, ModelVersionSpec } from '../core/index.js';
import { LiveBatchConfig } from './batch-config.js';
import { decide } from './decision.js';
import { internalError } from './errors.js';
import { OrderedRelease } from './ordered-release.js';
import { insertInOrder, type QueueEntry } from './queue-entry.js';
import {
  levelIsFull,
  levelOf,
  policyFor,
  queueDeadline,
  queueFullError,
  queueTimeoutError,
  retryAfterSeconds,
  sweepExpired,
  withShedBudget,
} from './queue-policy.js';
import { SchedulerCore, type SchedulerOptions, type Ticket } from './scheduler-core.js';
import type { BatchStats } from './settle.js';
import { shapeKeyOf } from './shape-key.js';
import type { Job, JobResult, Scheduler } from './types.js';

/** Options for the dynamic batcher: the same as every scheduler's. */
export type DynamicBatchSchedulerOptions = SchedulerOptions;

/** Triton's defaults for a `dynamic_batching {}` section with nothing in it. */
export const DEFAULT_BATCHING: DynamicBatchingSpec = {
  preferredBatchSizes: [],
  maxQueueDelayUs: 0,
  preserveOrdering: false,
  priorityLevels: 0,
  defaultPriorityLevel: 0,
  defaultQueuePolicy: { timeoutAction: 'REJECT', defaultTimeoutUs: 0, allowTimeoutOverride: false, maxQueueSize: 0 },
  priorityQueuePolicy: {},
};

/** Why a request was refused in latency-objective mode (HTTP 503 + Retry-After, like a full queue). */
export const SHED_MESSAGE = 'Exceeds maximum queue size: request shed to hold the latency objective';

interface Queued {
  ticket: Ticket;
  entry: QueueEntry;
}

/** Smoothing of the batch-time average used for Retry-After hints. */
const EWMA_ALPHA = 0.2;

/** Triton-style dynamic batching for one model version (see decision.ts for the policy). */
export class DynamicBatchScheduler implements Scheduler {
  private readonly queue: QueueEntry[] = [];
  private readonly byId = new Map<number, Queued>();
  private readonly levelCounts = new Map<number, number>();
  private readonly batching: DynamicBatchingSpec;
  private readonly config: LiveBatchConfig;
  private readonly instances: number;
  private readonly core: SchedulerCore;
  private avgBatchMs = 0;

  constructor(
    spec: Pick<ModelVersionSpec, 'maxBatchSize' | 'batching' | 'latencyObjective'>,
    loaded: LoadedModel,
    options: DynamicBatchSchedulerOptions = {},
  ) {
    this.batching = spec.batching ?? DEFAULT_BATCHING;
    this.config = new LiveBatchConfig(spec);
    this.instances = loaded.instances.length;
    const driver = {
      queued: () => this.queue.length,
      tickets: () => this.queuedTickets(),
      take: (t: Ticket) => this.remove(t.id) !== undefined,
      step: (now: number) => this.step(now),
      learn: (stats: BatchStats) => this.learn(stats),
    };
    this.core = new SchedulerCore(
      loaded,
      options,
      driver,
      this.batching.preserveOrdering ? new OrderedRelease() : undefined,
    );
  }

  get pending(): number {
    return this.queue.length;
  }

  get inflight(): number {
    return this.core.inflight;
  }

  /** Queues a job; resolves with its slice of the batch's outputs, rejects with an InferError. */
  submit(job: Job): Promise<JobResult> {
    const refused = this.core.refuse(job);
    if (refused) return Promise.reject(refused);
    let shapeKey: string;
    try {
      shapeKey = shapeKeyOf(job);
    } catch (err) {
      // Before anything is reserved: a malformed job must not hold a place in the answer order.
      return Promise.reject(internalError(err));
    }
    const level = levelOf(job.priority, this.batching);
    const policy = policyFor(level, this.batching);
    if (levelIsFull(this.levelCounts.get(level) ?? 0, policy)) {
      this.core.rejected('queue-full');
      return Promise.reject(queueFullError(this.retryAfter()));
    }
    if (!this.config.admits(() => this.unitsAhead(level), job.batchSize, this.instances)) {
      this.core.rejected('shed');
      return Promise.reject(queueFullError(this.retryAfter(), SHED_MESSAGE));
    }
    return this.core.accept(job, (ticket) => {
      const now = ticket.enqueuedAt;
      const entry: QueueEntry = {
        id: ticket.id,
        level,
        enqueuedAt: now,
        deadline: queueDeadline(now, policy, job.timeoutUs),
        timeoutAction: policy.timeoutAction,
        delayed: false,
        batchSize: job.batchSize,
        shapeKey,
      };
      this.add(ticket, withShedBudget(entry, this.config.queueBudgetMs(), now));
      // Pump on a microtask: requests submitted in the same tick can share a batch.
      this.core.wake();
    });
  }

  /** Stops accepting jobs; resolves once the queue is empty and nothing runs. */
  drain(): Promise<void> {
    return this.core.drain();
  }

  abandon(err: InferError): void {
    this.core.abandon(err);
  }

  /** The driver's part of a turn: timeouts, then dispatch while the decision says so; returns the next wake-up. */
  private step(now: number): number {
    let wakeAt = this.applyTimeouts(now);
    this.core.failIfAllDead();
    for (;;) {
      const d = decide(this.queue, this.core.loads(), this.config.current, now);
      if (d.kind === 'wait') wakeAt = Math.min(wakeAt, d.untilMs);
      if (d.kind !== 'dispatch' || this.dispatch(d.instance, d.jobIds, now) === 0) break;
    }
    return wakeAt;
  }

  /** Starts one batch on one instance; returns how many requests it took off the queue. */
  private dispatch(index: number, ids: readonly number[], now: number): number {
    const tickets: Ticket[] = [];
    for (const id of ids) {
      const q = this.remove(id);
      if (q) tickets.push(q.ticket);
    }
    this.core.execute(index, tickets, now);
    return tickets.length;
  }

  /** Rejects REJECT requests past their deadline, moves DELAY ones behind; returns the next deadline. */
  private applyTimeouts(now: number): number {
    const sweep = sweepExpired(this.queue, now);
    for (const id of sweep.reject) {
      const q = this.remove(id);
      if (!q) continue;
      const shed = q.entry.shed === true;
      this.core.rejected(shed ? 'shed' : 'timeout');
      this.core.refuseQueued(q.ticket, shed ? queueFullError(this.retryAfter(), SHED_MESSAGE) : queueTimeoutError());
    }
    for (const id of sweep.delay) {
      const q = this.remove(id);
      if (q) this.add(q.ticket, { ...q.entry, delayed: true });
    }
    return sweep.nextDeadline;
  }

  private learn(stats: BatchStats): void {
    const ms = stats.execMs;
    this.avgBatchMs = this.avgBatchMs === 0 ? ms : this.avgBatchMs + EWMA_ALPHA * (ms - this.avgBatchMs);
    this.config.learn(stats);
  }

  private retryAfter(): number {
    return retryAfterSeconds(this.queue.length, this.config.current.maxBatchSize, this.instances, this.avgBatchMs);
  }

  /** Batch units queued at `level` and above: the work a new request of that level waits behind. */
  private unitsAhead(level: number): number {
    let units = 0;
    for (const e of this.queue) if (e.level <= level) units += e.batchSize;
    return units;
  }

  private *queuedTickets(): Iterable<Ticket> {
    for (const e of this.queue) {
      const q = this.byId.get(e.id);
      if (q) yield q.ticket;
    }
  }

  private add(ticket: Ticket, entry: QueueEntry): void {
    this.byId.set(entry.id, { ticket, entry });
    insertInOrder(this.queue, entry);
    this.levelCounts.set(entry.level, (this.levelCounts.get(entry.level) ?? 0) + 1);
  }

  /** Takes a request off the queue; undefined when it is not queued. */
  private remove(id: number): Queued | undefined {
    const q = this.byId.get(id);
    if (!q) return undefined;
    this.byId.delete(id);
    const i = this.queue.findIndex((e) => e.id === id);
    if (i >= 0) this.queue.splice(i, 1);
    this.levelCounts.set(q.entry.level, (this.levelCounts.get(q.entry.level) ?? 1) - 1);
    return q;
  }
}
