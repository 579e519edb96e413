/**
 * What every scheduler shares; FIFO and the dynamic batcher differ only in how they queue and
 * what they dispatch (their Driver). The core owns: admission (unloading, already cancelled,
 * deadline passed), the ticket each accepted job gets and its AbortSignal, deadlines while queued
 * (with the one wake-up timer), failing the queue when every instance is dead, running a batch on
 * an instance and answering its requests (settle.ts decides, this applies), the statistics hooks
 * (always guarded: a throwing hook is reported once and never costs an answer), and drain.
 * It never dies on one exception: a throwing driver step fails the queued requests, a throwing
 * execute fails that batch's requests, each with IG_ERR_INTERNAL, and the loop goes on.
 */
import type { ExecOptions, ExecResult, ExecTiming, LoadedModel } from '../backend/types.js';
import {
  type Clock,
  deadlineExceeded,
  InferError,
  type RequestTrace,
  systemClock,
  toInferError,
} from '../core/index.js';
import { assembleInputs } from './assemble.js';
import { batchExecOptions, deadlinePassed, sweepDeadlines } from './deadline.js';
import { cancelledError, internalError, noLiveInstanceError, unloadingError } from './errors.js';
import type { OrderedRelease } from './ordered-release.js';
import type { InstanceLoad } from './pick-instance.js';
import { type BatchStats, settleBatch } from './settle.js';
import { realTimers, type Timers, WakeTimer } from './timers.js';
import type { Job, JobResult } from './types.js';

/** Why a request was answered before it ran, for statistics (the FIFO scheduler only has 'deadline'). */
export type RejectReason = 'queue-full' | 'timeout' | 'shed' | 'deadline';

/** Options of every scheduler kind. */
export interface SchedulerOptions {
  clock?: Clock;
  /** Wake-up timer for queue delays, queue timeouts and deadlines (tests inject a manual one). */
  timers?: Timers;
  /** Called when a queued job is dropped because its client went away (for statistics). */
  onCancelled?: () => void;
  /** Called once per model execution with its batch size and stage times (for statistics). */
  onExecution?: (batchSize: number, timing: ExecTiming) => void;
  /** Called once per execution that carried traced requests, with its start/end (Clock ms). */
  onTracedBatch?: (traces: RequestTrace[], startMs: number, endMs: number, batchSize: number) => void;
  /** Called when a request is refused or dropped before it ran, for statistics. */
  onRejected?: (reason: RejectReason) => void;
  /** Called with every internal error the loop survived (and every throwing hook), for logging. */
  onError?: (err: unknown) => void;
}

/** An accepted job, as long as it waits for its answer. */
export interface Ticket {
  /** Unique per scheduler, in acceptance order (the batcher's QueueEntry.id). */
  readonly id: number;
  readonly job: Job;
  /** Clock ms the job was accepted. */
  readonly enqueuedAt: number;
  /** Place in the answer order (preserve_ordering only; 0 otherwise). */
  readonly place: number;
  readonly resolve: (r: JobResult) => void;
  readonly reject: (e: unknown) => void;
  onAbort?: () => void;
}

/** What a scheduler hands the core: its queue and its dispatch step. */
export interface Driver {
  /** Tickets queued, not yet executing. */
  queued(): number;
  /** The queued tickets, in dispatch order; the core reads them all before it takes any. */
  tickets(): Iterable<Ticket>;
  /** Takes a ticket off the queue; false when it is not queued (any more). */
  take(ticket: Ticket): boolean;
  /**
   * Dispatches what the driver's policy says at `now` (through SchedulerCore.execute) and returns
   * the Clock ms it needs waking at (Infinity: only on events). Runs after the deadline sweep.
   */
  step(now: number): number;
  /** Learns from one finished batch (the batcher's adaptive config); run guarded like a hook. */
  learn?(stats: BatchStats): void;
}

export class SchedulerCore {
  readonly clock: Clock;
  /** Batches this core runs on each instance (an instance's own count may lag behind a dispatch). */
  private readonly busy: number[];
  private readonly timer: WakeTimer;
  private running = 0;
  private nextId = 0;
  private draining = false;
  private drainWaiters: Array<() => void> = [];
  private wakeQueued = false;
  /** No queued deadline is earlier than this, so no sweep is needed before it (keeps turns O(1) without deadlines). */
  private earliestDeadline = Number.POSITIVE_INFINITY;

  constructor(
    private readonly loaded: LoadedModel,
    private readonly options: SchedulerOptions,
    private readonly driver: Driver,
    /** preserve_ordering: answers of requests that ran leave in acceptance order. */
    private readonly order?: OrderedRelease,
  ) {
    this.clock = options.clock ?? systemClock;
    this.timer = new WakeTimer(options.timers ?? realTimers, () => this.pump());
    this.busy = loaded.instances.map(() => 0);
  }

  /** Jobs executing now. */
  get inflight(): number {
    return this.running;
  }

  /** The answer to a job refused before it queues (unloading, already cancelled, deadline passed); else undefined. */
  refuse(job: Job): InferError | undefined {
    if (this.draining) return unloadingError();
    if (job.signal?.aborted) return cancelledError();
    if (deadlinePassed(job.deadline, this.clock.now())) {
      this.rejected('deadline');
      return deadlineExceeded();
    }
    return undefined;
  }

  /** Accepts a job: its ticket goes to `enqueue` (the driver's queue); the promise is the job's answer. */
  accept(job: Job, enqueue: (ticket: Ticket) => void): Promise<JobResult> {
    return new Promise<JobResult>((resolve, reject) => {
      const t: Ticket = {
        id: this.nextId++,
        job,
        enqueuedAt: this.clock.now(),
        place: this.order?.reserve() ?? 0,
        resolve,
        reject,
      };
      if (job.signal) {
        t.onAbort = () => this.cancel(t);
        job.signal.addEventListener('abort', t.onAbort, { once: true });
      }
      if (job.deadline !== undefined && job.deadline < this.earliestDeadline) this.earliestDeadline = job.deadline;
      enqueue(t);
    });
  }

  /** Stops accepting jobs; resolves once the queue is empty and nothing runs. */
  drain(): Promise<void> {
    this.draining = true;
    const drained = new Promise<void>((resolve) => this.drainWaiters.push(resolve));
    this.settleDrain();
    return drained;
  }

  /** Answers every queued job with `err` (Scheduler.abandon). */
  abandon(err: InferError): void {
    this.failQueued(err);
    this.settleDrain();
  }

  /** One turn of the loop, now: deadlines, the driver's step, the timer; then drain. */
  pump(): void {
    try {
      const now = this.clock.now();
      const nextDeadline = this.expireDeadlines(now);
      const wakeAt = this.driver.step(now);
      this.timer.arm(Math.min(nextDeadline, wakeAt), now);
    } catch (err) {
      // A bug in a decision must not strand the queue: fail what is queued and stay alive.
      this.report(err);
      this.failQueued(internalError(err));
    }
    this.settleDrain();
  }

  /** A turn on a microtask: whatever is submitted or cancelled in the same tick is seen by one turn. */
  wake(): void {
    if (this.wakeQueued) return;
    this.wakeQueued = true;
    queueMicrotask(() => {
      this.wakeQueued = false;
      this.pump();
    });
  }

  /** Each instance's liveness and load, for pickInstance / decide. */
  loads(): InstanceLoad[] {
    return this.loaded.instances.map((inst, i) => ({
      alive: inst.alive,
      inflight: Math.max(inst.inflight, this.busy[i] ?? 0),
    }));
  }

  /** Every instance dead (restarting): fails the queue fast rather than queue behind a crash loop. */
  failIfAllDead(): void {
    if (this.driver.queued() > 0 && this.loaded.instances.every((i) => !i.alive))
      this.failQueued(noLiveInstanceError());
  }

  /**
   * Runs `tickets` (already taken off the queue) as one batch on instance `index`, started at
   * `startedAt` (Clock ms), and answers each when it ends. The turn that dispatches has just swept
   * deadlines at the same `now`, so no ticket here is past its deadline.
   */
  execute(index: number, tickets: readonly Ticket[], startedAt: number): void {
    if (tickets.length === 0) return;
    for (const t of tickets) this.detach(t);
    const instance = this.loaded.instances[index];
    if (!instance) {
      this.failRan(tickets, internalError());
      return;
    }
    this.running += tickets.length;
    this.busy[index] = (this.busy[index] ?? 0) + 1;
    let execution: Promise<unknown>;
    try {
      const parts = tickets.map((t) => t.job.inputs);
      const outputs = tickets[0]!.job.outputs;
      const options = withCall(batchExecOptions(tickets, this.clock), tickets);
      // A backend that joins the rows where it runs keeps the batch's copy off the event loop.
      const run =
        parts.length > 1 && instance.executeBatch
          ? instance.executeBatch(parts, outputs, options)
          : instance.execute(assembleInputs(parts), outputs, options);
      execution = run.then(
        (r) => this.complete(tickets, r, startedAt),
        (e) => this.failRan(tickets, toInferError(e)),
      );
    } catch (err) {
      this.report(err);
      this.failRan(tickets, err instanceof InferError ? err : internalError(err));
      execution = Promise.resolve();
    }
    // complete() guards its own steps; this catch only keeps a bug from becoming an unhandled rejection.
    void execution
      .catch((err) => this.report(err))
      .finally(() => {
        this.running -= tickets.length;
        this.busy[index] = (this.busy[index] ?? 1) - 1;
        this.pump();
      });
  }

  /** Answers a job that never ran (the driver took it off the queue): at once, freeing its place in the order. */
  refuseQueued(t: Ticket, err: InferError): void {
    this.detach(t);
    if (this.order) this.order.answerOutOfOrder(t.place, () => t.reject(err));
    else t.reject(err);
  }

  /** Reports a refusal through onRejected. */
  rejected(reason: RejectReason): void {
    this.notify(() => this.options.onRejected?.(reason));
  }

  /** Applies settleBatch's answer: learning and statistics first (guarded), then every request's answer. */
  private complete(tickets: readonly Ticket[], r: ExecResult, startedAt: number): void {
    const endedAt = this.clock.now();
    const items = tickets.map((t) => ({ id: t.id, batchSize: t.job.batchSize, enqueuedAt: t.enqueuedAt }));
    const s = settleBatch(items, r, startedAt, endedAt);
    if (this.driver.learn) this.notify(() => this.driver.learn?.(s.stats));
    this.notify(() => this.options.onExecution?.(s.stats.batchSize, r.timing));
    if (this.options.onTracedBatch) this.reportTraced(tickets, startedAt, endedAt, s.stats.batchSize);
    if (s.failures.length > 0) this.report(s.fault);
    const byId = new Map(tickets.map((t) => [t.id, t]));
    for (const a of s.answers) {
      const t = byId.get(a.id)!;
      this.answer(t, () => t.resolve(a.result));
    }
    for (const f of s.failures) {
      const t = byId.get(f.id)!;
      this.answer(t, () => t.reject(f.error));
    }
  }

  /** Hands the batch's traced requests (if any) to onTracedBatch, for one batch span. */
  private reportTraced(tickets: readonly Ticket[], startedAt: number, endedAt: number, total: number): void {
    const traces: RequestTrace[] = [];
    for (const t of tickets) if (t.job.trace) traces.push(t.job.trace);
    if (traces.length > 0) this.notify(() => this.options.onTracedBatch?.(traces, startedAt, endedAt, total));
  }

  /** Rejects queued jobs whose deadline passed; returns the earliest deadline still queued. */
  private expireDeadlines(now: number): number {
    if (this.driver.queued() === 0) {
      this.earliestDeadline = Number.POSITIVE_INFINITY;
      return this.earliestDeadline;
    }
    if (now < this.earliestDeadline) return this.earliestDeadline;
    const sweep = sweepDeadlines(this.driver.tickets(), now);
    for (const t of sweep.expired) {
      if (!this.driver.take(t)) continue;
      this.rejected('deadline');
      this.refuseQueued(t, deadlineExceeded());
    }
    this.earliestDeadline = sweep.next;
    return sweep.next;
  }

  private cancel(t: Ticket): void {
    if (!this.driver.take(t)) return;
    this.notify(() => this.options.onCancelled?.());
    this.refuseQueued(t, cancelledError());
    this.wake();
  }

  private failQueued(err: InferError): void {
    for (const t of [...this.driver.tickets()]) if (this.driver.take(t)) this.refuseQueued(t, err);
  }

  private failRan(tickets: readonly Ticket[], err: InferError): void {
    for (const t of tickets) this.answer(t, () => t.reject(err));
  }

  /** Answers a job that ran: in acceptance order when preserve_ordering is on. */
  private answer(t: Ticket, fn: () => void): void {
    if (this.order) this.order.settle(t.place, fn);
    else fn();
  }

  private detach(t: Ticket): void {
    if (t.onAbort) t.job.signal?.removeEventListener('abort', t.onAbort);
  }

  /** Runs a statistics hook; a throwing hook is reported, never allowed to break scheduling. */
  private notify(hook: () => void): void {
    try {
      hook();
    } catch (err) {
      this.report(err);
    }
  }

  /** Hands a survived error to onError (which itself must not break the loop either). */
  private report(err: unknown): void {
    try {
      this.options.onError?.(err);
    } catch {
      // Nothing left to report to.
    }
  }

  private settleDrain(): void {
    if (!this.draining || this.driver.queued() > 0 || this.running > 0) return;
    this.timer.clear();
    for (const w of this.drainWaiters.splice(0)) w();
  }
}

/** A batch of one call carries that call to the backend (ExecOptions.call); a batch of several, none. */
function withCall(options: ExecOptions | undefined, tickets: readonly Ticket[]): ExecOptions | undefined {
  const call = tickets.length === 1 ? tickets[0]!.job.ctx : undefined;
  return call === undefined ? options : { ...options, call };
}
