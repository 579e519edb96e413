/**
 * The dynamic batcher's driver: a thin loop around the pure parts (queue-policy.ts sweeps
 * timeouts, decision.ts picks the batch and the instance, assemble.ts / split.ts move tensors).
 * It keeps one queue in dispatch order, one timer for the next wake-up, and wakes on every
 * arrival, completion, cancellation and timer. It never dies on one exception: a throwing
 * decision fails the queued requests, a throwing assembly or split fails that batch's requests,
 * each with IG_ERR_INTERNAL, and the loop goes on.
 * Ownership: a job's input tensors belong to the scheduler from submit on (they are transferred to
 * the worker as they are and joined there when the backend has executeBatch, else concatenated
 * here; a batch of one is never copied); outputs are views, see split.ts.
 */
import type { ExecResult, LoadedModel } from '../backend/types.js';
import {
  type Clock,
  type DynamicBatchingSpec,
  InferError,
  invalidArg,
  type ModelVersionSpec,
  type RequestTrace,
  systemClock,
  toInferError,
} from '../core/index.js';
import { assembleInputs } from './assemble.js';
import { type BatchConfig, batchConfigOf, makeBatchConfig } from './batch-config.js';
import { initialTuner, observeRun, type TunerState } from './batch-tuner.js';
import { decide } from './decision.js';
import type { FifoSchedulerOptions } from './fifo-scheduler.js';
import { OrderedRelease } from './ordered-release.js';
import type { InstanceLoad } from './pick-instance.js';
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
} from './queue-policy.js';
import { shapeKeyOf } from './shape-key.js';
import { SloMode } from './slo-mode.js';
import { splitOutputs } from './split.js';
import { realTimers, type Timers } from './timers.js';
import type { Job, JobResult, Scheduler } from './types.js';

/** Options for the dynamic batcher; the statistics hooks have FifoScheduler's names and shapes. */
export interface DynamicBatchSchedulerOptions extends FifoSchedulerOptions {
  /** Wake-up timer (tests inject a manual one). */
  timers?: Timers;
  /** Called when queue policy refuses (full) or drops (REJECT timeout) a request, for statistics. */
  onRejected?: (reason: 'queue-full' | 'timeout' | 'shed') => void;
  /** Called with every internal error the loop survived, for logging. */
  onError?: (err: unknown) => void;
}

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

interface Pending {
  entry: QueueEntry;
  job: Job;
  /** Place in the answer order (preserve_ordering only). */
  place: number;
  resolve: (r: JobResult) => void;
  reject: (e: unknown) => void;
  onAbort?: () => void;
}

/** Smoothing of the batch-time average used for Retry-After hints. */
const EWMA_ALPHA = 0.2;

/** Triton-style dynamic batching for one model version (see decision.ts for the policy). */
export class DynamicBatchScheduler implements Scheduler {
  private readonly queue: QueueEntry[] = [];
  private readonly byId = new Map<number, Pending>();
  private readonly levelCounts = new Map<number, number>();
  private readonly busy: number[];
  private readonly batching: DynamicBatchingSpec;
  /** The model's own limits; with a latency objective the decision runs with slo.config instead. */
  private readonly modelConfig: BatchConfig;
  private readonly slo: SloMode | undefined;
  private readonly clock: Clock;
  private readonly timers: Timers;
  private readonly order: OrderedRelease | undefined;
  private nextId = 0;
  private running = 0;
  private draining = false;
  private drainWaiters: Array<() => void> = [];
  private pumpQueued = false;
  private timer: unknown;
  private timerAt = Number.POSITIVE_INFINITY;
  private avgBatchMs = 0;
  /** Throughput tuning of the cap (batch_size_tuning: throughput); undefined when off. */
  private tuner: TunerState | undefined;
  private tunedConfig: { base: BatchConfig; cap: number; config: BatchConfig } | undefined;

  constructor(
    spec: Pick<ModelVersionSpec, 'maxBatchSize' | 'batching' | 'latencyObjective'>,
    private readonly loaded: LoadedModel,
    private readonly options: DynamicBatchSchedulerOptions = {},
  ) {
    this.batching = spec.batching ?? DEFAULT_BATCHING;
    this.modelConfig = batchConfigOf(spec);
    this.slo = spec.latencyObjective ? new SloMode(spec.latencyObjective, this.modelConfig) : undefined;
    if (this.batching.throughputTuning) this.tuner = initialTuner(this.modelConfig.maxBatchSize);
    this.clock = options.clock ?? systemClock;
    this.timers = options.timers ?? realTimers;
    this.order = this.batching.preserveOrdering ? new OrderedRelease() : undefined;
    this.busy = loaded.instances.map(() => 0);
  }

  get pending(): number {
    return this.queue.length;
  }

  get inflight(): number {
    return this.running;
  }

  /** Queues a job; resolves with its slice of the batch's outputs, rejects with an InferError. */
  submit(job: Job): Promise<JobResult> {
    if (this.draining) return Promise.reject(new InferError('IG_ERR_UNAVAILABLE', 'model version is unloading'));
    if (job.signal?.aborted) return Promise.reject(cancelled());
    const max = this.modelConfig.maxBatchSize;
    if (job.batchSize > max)
      return Promise.reject(invalidArg(`batch size ${job.batchSize} exceeds the model's max_batch_size ${max}`));
    let shapeKey: string;
    try {
      shapeKey = shapeKeyOf(job);
    } catch (err) {
      // Before anything is reserved: a malformed job must not hold a place in the answer order.
      return Promise.reject(internal(err));
    }
    const level = levelOf(job.priority, this.batching);
    const policy = policyFor(level, this.batching);
    if (levelIsFull(this.levelCounts.get(level) ?? 0, policy)) {
      this.notify(() => this.options.onRejected?.('queue-full'));
      return Promise.reject(queueFullError(this.retryAfter()));
    }
    if (this.slo && !this.slo.admits(this.unitsAhead(level), job.batchSize, this.busy.length)) {
      this.notify(() => this.options.onRejected?.('shed'));
      return Promise.reject(queueFullError(this.retryAfter(), SHED_MESSAGE));
    }
    return new Promise<JobResult>((resolve, reject) => {
      const now = this.clock.now();
      const entry: QueueEntry = {
        id: this.nextId++,
        level,
        enqueuedAt: now,
        deadline: queueDeadline(now, policy, job.timeoutUs),
        timeoutAction: policy.timeoutAction,
        delayed: false,
        batchSize: job.batchSize,
        shapeKey,
      };
      this.applyQueueBudget(entry, now);
      const p: Pending = { entry, job, place: this.order?.reserve() ?? 0, resolve, reject };
      if (job.signal) {
        p.onAbort = () => this.cancel(entry.id);
        job.signal.addEventListener('abort', p.onAbort, { once: true });
      }
      this.byId.set(entry.id, p);
      insertInOrder(this.queue, entry);
      this.levelCounts.set(level, (this.levelCounts.get(level) ?? 0) + 1);
      // Pump on a microtask: requests submitted in the same tick can share a batch.
      this.schedulePump();
    });
  }

  /** Stops accepting jobs; resolves once the queue is empty and nothing runs. */
  drain(): Promise<void> {
    this.draining = true;
    if (this.queue.length === 0 && this.running === 0) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  private retryAfter(): number {
    return retryAfterSeconds(this.queue.length, this.config.maxBatchSize, this.busy.length, this.avgBatchMs);
  }

  /**
   * Latency-objective mode: a request below the top priority level can be overtaken after it was
   * admitted, so it is shed once it has waited longer than the objective allows, instead of being
   * served seconds late while higher-priority bursts keep arriving. Top-level requests are never
   * overtaken; admission already bounds their wait.
   */
  private applyQueueBudget(entry: QueueEntry, now: number): void {
    if (!this.slo || entry.level <= 1) return;
    const shedAt = now + this.slo.queueBudgetMs();
    if (shedAt >= entry.deadline) return;
    entry.deadline = shedAt;
    entry.timeoutAction = 'REJECT';
    entry.shed = true;
  }

  /** Batch units queued at `level` and above: the work a new request of that level waits behind. */
  private unitsAhead(level: number): number {
    let units = 0;
    for (const e of this.queue) if (e.level <= level) units += e.batchSize;
    return units;
  }

  /**
   * What the decision runs with now: the model's config, or the latency objective's plan, capped
   * by the throughput tuner's measured cap when tuning is on.
   */
  private get config(): BatchConfig {
    const base = this.slo?.config ?? this.modelConfig;
    if (!this.tuner || this.tuner.cap >= base.maxBatchSize) return base;
    if (this.tunedConfig?.base !== base || this.tunedConfig.cap !== this.tuner.cap) {
      const cap = this.tuner.cap;
      const preferred = base.preferredBatchSizes.filter((p) => p <= cap);
      this.tunedConfig = { base, cap, config: makeBatchConfig(cap, preferred, base.maxQueueDelayMs) };
    }
    return this.tunedConfig.config;
  }

  private schedulePump(): void {
    if (this.pumpQueued) return;
    this.pumpQueued = true;
    queueMicrotask(() => {
      this.pumpQueued = false;
      this.pump();
    });
  }

  /** One turn of the loop: timeouts, then dispatch while the decision says so, then re-arm the timer. */
  private pump(): void {
    try {
      const now = this.clock.now();
      let wakeAt = this.applyTimeouts(now);
      if (this.queue.length > 0 && this.loaded.instances.every((i) => !i.alive)) this.failAllDead();
      for (;;) {
        const d = decide(this.queue, this.loads(), this.config, now);
        if (d.kind === 'wait') wakeAt = Math.min(wakeAt, d.untilMs);
        if (d.kind !== 'dispatch' || this.dispatch(d.instance, d.jobIds, now) === 0) break;
      }
      this.arm(wakeAt, now);
    } catch (err) {
      // A bug in a decision must not strand the queue: fail what is queued and stay alive.
      this.failQueued(err);
    }
    this.settleDrain();
  }

  private loads(): InstanceLoad[] {
    return this.loaded.instances.map((inst, i) => ({
      alive: inst.alive,
      inflight: Math.max(inst.inflight, this.busy[i] ?? 0),
    }));
  }

  /** Rejects REJECT requests past their deadline, moves DELAY ones behind; returns the next deadline. */
  private applyTimeouts(now: number): number {
    const sweep = sweepExpired(this.queue, now);
    for (const id of sweep.reject) {
      const p = this.take(id);
      if (!p) continue;
      const shed = p.entry.shed === true;
      this.notify(() => this.options.onRejected?.(shed ? 'shed' : 'timeout'));
      this.answerEarly(p, () => p.reject(shed ? queueFullError(this.retryAfter(), SHED_MESSAGE) : queueTimeoutError()));
    }
    for (const id of sweep.delay) {
      const p = this.take(id, false);
      if (!p) continue;
      p.entry = { ...p.entry, delayed: true };
      this.byId.set(id, p);
      insertInOrder(this.queue, p.entry);
      this.levelCounts.set(p.entry.level, (this.levelCounts.get(p.entry.level) ?? 0) + 1);
    }
    return sweep.nextDeadline;
  }

  /** Starts one batch on one instance; returns how many requests it took off the queue. */
  private dispatch(index: number, ids: readonly number[], now: number): number {
    const items = ids.map((id) => this.take(id)).filter((p): p is Pending => p !== undefined);
    const instance = this.loaded.instances[index];
    if (items.length === 0 || !instance) {
      for (const p of items) this.answer(p, () => p.reject(internal()));
      return items.length;
    }
    this.running += items.length;
    this.busy[index] = (this.busy[index] ?? 0) + 1;
    let execution: Promise<unknown>;
    try {
      const parts = items.map((p) => p.job.inputs);
      const outputs = items[0]!.job.outputs;
      // A backend that joins the rows where it runs keeps the batch's copy off the event loop.
      const run =
        parts.length > 1 && instance.executeBatch
          ? instance.executeBatch(parts, outputs)
          : instance.execute(assembleInputs(parts), outputs);
      execution = run.then(
        (r) => this.complete(items, r, now),
        (e) => this.failItems(items, toInferError(e)),
      );
    } catch (err) {
      this.report(err);
      this.failItems(items, err instanceof InferError ? err : internal(err));
      execution = Promise.resolve();
    }
    // complete() guards its own steps; this catch only keeps a bug from becoming an unhandled rejection.
    void execution
      .catch((err) => this.report(err))
      .finally(() => {
        this.running -= items.length;
        this.busy[index] = (this.busy[index] ?? 1) - 1;
        this.pump();
      });
    return items.length;
  }

  /** Hands each request its slice of the outputs and reports the execution once. */
  private complete(items: readonly Pending[], r: ExecResult, startedAt: number): void {
    const total = items.reduce((n, p) => n + p.job.batchSize, 0);
    const now = this.clock.now();
    const ms = now - startedAt;
    this.avgBatchMs = this.avgBatchMs === 0 ? ms : this.avgBatchMs + EWMA_ALPHA * (ms - this.avgBatchMs);
    if (this.slo) {
      const latencies = items.map((p) => now - p.entry.enqueuedAt);
      this.notify(() => this.slo?.learn(total, ms, latencies));
    }
    if (this.tuner) this.tuner = observeRun(this.tuner, this.modelConfig.maxBatchSize, total, ms);
    this.notify(() => this.options.onExecution?.(total, r.timing));
    if (this.options.onTracedBatch) this.reportTraced(items, startedAt, now, total);
    let parts: ReturnType<typeof splitOutputs>;
    try {
      parts = splitOutputs(
        r.outputs,
        items.map((p) => p.job.batchSize),
      );
    } catch (err) {
      this.report(err);
      this.failItems(items, internal(err));
      return;
    }
    items.forEach((p, i) => {
      const queueNs = Math.round((startedAt - p.entry.enqueuedAt) * 1e6);
      const result: JobResult = { outputs: parts[i]!, timing: r.timing, queueNs, executedBatchSize: total };
      this.answer(p, () => p.resolve(result));
    });
  }

  /** Hands the batch's traced requests (if any) to onTracedBatch, for one batch span. */
  private reportTraced(items: readonly Pending[], startedAt: number, now: number, total: number): void {
    const traces: RequestTrace[] = [];
    for (const p of items) if (p.job.trace) traces.push(p.job.trace);
    if (traces.length > 0) this.notify(() => this.options.onTracedBatch?.(traces, startedAt, now, total));
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

  private failItems(items: readonly Pending[], err: InferError): void {
    for (const p of items) this.answer(p, () => p.reject(err));
  }

  private cancel(id: number): void {
    const p = this.take(id);
    if (!p) return;
    this.notify(() => this.options.onCancelled?.());
    this.answerEarly(p, () => p.reject(cancelled()));
    this.schedulePump();
  }

  /** Removes a queued request (and by default its abort listener); undefined when not queued. */
  private take(id: number, detach = true): Pending | undefined {
    const p = this.byId.get(id);
    if (!p) return undefined;
    this.byId.delete(id);
    const i = this.queue.findIndex((e) => e.id === id);
    if (i >= 0) this.queue.splice(i, 1);
    this.levelCounts.set(p.entry.level, (this.levelCounts.get(p.entry.level) ?? 1) - 1);
    if (detach && p.onAbort) p.job.signal?.removeEventListener('abort', p.onAbort);
    return p;
  }

  /** Answers a request that ran: in request order when preserve_ordering is on. */
  private answer(p: Pending, fn: () => void): void {
    if (this.order) this.order.settle(p.place, fn);
    else fn();
  }

  /** Answers a request that never ran: at once, freeing its place in the order. */
  private answerEarly(p: Pending, fn: () => void): void {
    if (this.order) this.order.answerOutOfOrder(p.place, fn);
    else fn();
  }

  private failQueued(err: unknown): void {
    this.report(err);
    const e = internal(err);
    for (const entry of [...this.queue]) {
      const p = this.take(entry.id);
      if (p) this.answerEarly(p, () => p.reject(e));
    }
  }

  private failAllDead(): void {
    // Every instance is dead (restarting): fail fast rather than queue behind a crash loop.
    const e = new InferError('IG_ERR_WORKER_CRASHED', 'no live instance of the model is available; it is restarting');
    for (const entry of [...this.queue]) {
      const p = this.take(entry.id);
      if (p) this.answerEarly(p, () => p.reject(e));
    }
  }

  /** Keeps exactly one timer, set for the earliest wake-up the loop needs. */
  private arm(wakeAt: number, now: number): void {
    if (wakeAt === this.timerAt) return;
    if (this.timer !== undefined) this.timers.clear(this.timer);
    this.timer = undefined;
    this.timerAt = wakeAt;
    if (wakeAt === Number.POSITIVE_INFINITY) return;
    this.timer = this.timers.set(
      () => {
        this.timer = undefined;
        this.timerAt = Number.POSITIVE_INFINITY;
        this.pump();
      },
      Math.ceil(wakeAt - now),
    );
  }

  private settleDrain(): void {
    if (!this.draining || this.queue.length > 0 || this.running > 0) return;
    if (this.timer !== undefined) this.timers.clear(this.timer);
    this.timer = undefined;
    this.timerAt = Number.POSITIVE_INFINITY;
    for (const w of this.drainWaiters.splice(0)) w();
  }
}

/** Why a request was refused in latency-objective mode (HTTP 503 + Retry-After, like a full queue). */
export const SHED_MESSAGE = 'Exceeds maximum queue size: request shed to hold the latency objective';

function cancelled(): InferError {
  return new InferError('IG_ERR_CANCELLED', 'request was cancelled by the client before it ran');
}

function internal(cause?: unknown): InferError {
  return new InferError('IG_ERR_INTERNAL', 'internal error while scheduling the request', { cause });
}
