/**
 * Triton's priority levels and queue policies (protocol.md §B.6, §D.5) as pure functions:
 * which level a request goes to, its queue deadline, whether the level's queue is full,
 * and which queued requests have timed out; plus the latency objective's shed budget.
 */
import { type DynamicBatchingSpec, InferError, type QueuePolicySpec } from '../core/index.js';
import { isExpiredReject, type QueueEntry } from './queue-entry.js';

/** Triton's text for a full queue (clients match on it). */
export const QUEUE_FULL_MESSAGE = 'Exceeds maximum queue size';
/** Triton's text for a request whose queue timeout passed. */
export const QUEUE_TIMEOUT_MESSAGE = 'Request timeout expired';

type LevelSpec = Pick<DynamicBatchingSpec, 'priorityLevels' | 'defaultPriorityLevel'>;

/**
 * The level a request is queued at: its priority when in 1..priorityLevels, else the default level
 * (0/undefined = "model default"; Triton also sends out-of-range values to the default level).
 * With priorityLevels = 0 there is a single level, 1.
 */
export function levelOf(priority: number | undefined, spec: LevelSpec): number {
  if (spec.priorityLevels <= 0) return 1;
  if (priority !== undefined && Number.isInteger(priority) && priority >= 1 && priority <= spec.priorityLevels)
    return priority;
  const def = spec.defaultPriorityLevel;
  return def >= 1 && def <= spec.priorityLevels ? def : 1;
}

/** The queue policy of a level: its own entry in priorityQueuePolicy, else the default policy. */
export function policyFor(
  level: number,
  spec: Pick<DynamicBatchingSpec, 'priorityQueuePolicy' | 'defaultQueuePolicy'>,
) {
  return spec.priorityQueuePolicy[level] ?? spec.defaultQueuePolicy;
}

/**
 * Queue deadline in clock ms (Infinity = none). Triton's rule (PolicyQueue::Enqueue): the level's
 * default timeout, replaced by the request's own only when overrides are allowed and the request's
 * value is non-zero and smaller — so with a default of 0 a request timeout has no effect.
 */
export function queueDeadline(enqueuedAt: number, policy: QueuePolicySpec, requestTimeoutUs?: number): number {
  let us = policy.defaultTimeoutUs;
  if (policy.allowTimeoutOverride && requestTimeoutUs !== undefined && requestTimeoutUs > 0 && requestTimeoutUs < us)
    us = requestTimeoutUs;
  return us > 0 ? enqueuedAt + us / 1000 : Number.POSITIVE_INFINITY;
}

/** True when a level already holds max_queue_size requests (0 = unbounded); Triton counts requests. */
export function levelIsFull(queuedAtLevel: number, policy: QueuePolicySpec): boolean {
  return policy.maxQueueSize > 0 && queuedAtLevel >= policy.maxQueueSize;
}

/**
 * A Retry-After hint in whole seconds (1..60): the time to work off the queue ahead at the
 * measured batch rate, or 1 s when nothing has been measured yet.
 */
export function retryAfterSeconds(queued: number, perBatch: number, instances: number, avgBatchMs: number): number {
  if (!(avgBatchMs > 0) || perBatch <= 0 || instances <= 0) return 1;
  const ms = (Math.ceil(queued / perBatch) * avgBatchMs) / instances;
  return Math.min(60, Math.max(1, Math.ceil(ms / 1000)));
}

/** The immediate answer to a request that finds its level full (HTTP 503 + Retry-After, gRPC UNAVAILABLE). */
export function queueFullError(retryAfterS: number, message = QUEUE_FULL_MESSAGE): InferError {
  return new InferError('IG_ERR_QUEUE_FULL', message, { headers: { 'Retry-After': String(retryAfterS) } });
}

/** The answer to a request rejected because its queue timeout passed. */
export function queueTimeoutError(): InferError {
  return new InferError('IG_ERR_QUEUE_TIMEOUT', QUEUE_TIMEOUT_MESSAGE);
}

/** What the timeout sweep found: requests to reject, requests to move behind, and the next deadline. */
export interface SweepResult {
  reject: number[];
  delay: number[];
  /** Earliest deadline still ahead (clock ms), Infinity when none; the driver wakes then. */
  nextDeadline: number;
}

/** Finds queued requests whose deadline passed (REJECT → reject, DELAY → move behind) at `now`. */
export function sweepExpired(queue: readonly QueueEntry[], now: number): SweepResult {
  const out: SweepResult = { reject: [], delay: [], nextDeadline: Number.POSITIVE_INFINITY };
  for (const e of queue) {
    if (isExpiredReject(e, now)) out.reject.push(e.id);
    else if (e.deadline <= now) {
      if (!e.delayed) out.delay.push(e.id);
    } else if (e.deadline < out.nextDeadline) out.nextDeadline = e.deadline;
  }
  return out;
}

/**
 * Latency-objective mode (infergate's own, not Triton's): a request below the top priority level
 * can be overtaken after it was admitted, so it is shed once it has waited `budgetMs`, instead of
 * being served seconds late while higher-priority bursts keep arriving. Top-level requests are
 * never overtaken; admission already bounds their wait. The entry is returned as it is when its
 * own queue deadline comes first (always, with an infinite budget).
 */
export function withShedBudget(entry: QueueEntry, budgetMs: number, now: number): QueueEntry {
  if (entry.level <= 1) return entry;
  const shedAt = now + budgetMs;
  if (shedAt >= entry.deadline) return entry;
  return { ...entry, deadline: shedAt, timeoutAction: 'REJECT', shed: true };
}
