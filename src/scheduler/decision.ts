/**
 * The dynamic batcher's decision — "dispatch these requests to that instance now, or wait until
 * when" — as a pure function of the queue, the instances' load, the config and the time
 * (architecture rule 5). The driver (dynamic-batch-scheduler.ts) only applies what it returns.
 *
 * Semantics follow Triton's dynamic batcher (protocol.md §D.5):
 * - the candidate batch is the run of requests at the head of the queue (dispatch order: highest
 *   priority first, FIFO within a level) that share the head's shape key and fit max_batch_size
 *   counting each request's own batch size; it ends at the first request that cannot join
 *   (different shape, or it would overflow), because skipping it would break FIFO order;
 * - the largest preferred size reachable is dispatched at once (if the run grows past the
 *   largest preferred size without hitting one, the largest prefix not above it);
 * - otherwise the whole run goes when it cannot grow (blocked, or at max), when
 *   max_queue_delay is 0, or when the oldest queued request has waited max_queue_delay; once the
 *   delay is exceeded the whole run (largest possible batch) goes, preferred sizes notwithstanding;
 * - otherwise wait until the oldest queued request's delay runs out.
 * "Oldest" is over the whole queue, not only the run (Triton looks at the run): a low-priority
 * request past its delay then makes the instance work off the head instead of idling, so no
 * instance is ever idle while some request is overdue.
 * A request whose REJECT deadline passed is never part of a batch (the sweep rejects it).
 */
import type { BatchConfig } from './batch-config.js';
import { pickInstance, type InstanceLoad } from './pick-instance.js';
import { isExpiredReject, type QueueEntry } from './queue-entry.js';

/** What the driver should do next. */
export type Decision =
  | { kind: 'dispatch'; instance: number; jobIds: number[]; batchSize: number }
  | { kind: 'wait'; untilMs: number }
  /** Nothing to do until something happens: the queue is empty or no instance is free. */
  | { kind: 'idle' };

/** The candidate batch at the head of the queue. */
export interface HeadRun {
  ids: number[];
  /** sums[i] = total batch size of the first i+1 requests. */
  sums: number[];
  /** True when the run ended at a request that cannot join (shape or size); it cannot grow. */
  blocked: boolean;
}

const IDLE: Decision = { kind: 'idle' };

/** Decides the next step; `queue` must be in dispatch order (queue-entry.ts insertInOrder). */
export function decide(
  queue: readonly QueueEntry[],
  instances: readonly InstanceLoad[],
  config: BatchConfig,
  now: number,
): Decision {
  // Instances first: under a backlog every arrival finds them all busy, and then the O(queue)
  // walk below would be wasted.
  const instance = pickInstance(instances);
  if (instance < 0) return IDLE;
  const run = headRun(queue, config.maxBatchSize, now);
  if (run.ids.length === 0) return IDLE;
  const oldest = oldestEnqueue(queue, now);
  const cut = chooseCut(run, config, oldest, now);
  if (cut === 0) return { kind: 'wait', untilMs: oldest + config.maxQueueDelayMs };
  return { kind: 'dispatch', instance, jobIds: run.ids.slice(0, cut), batchSize: run.sums[cut - 1]! };
}

/** Collects the head run: same shape key as the first eligible request, total <= maxBatchSize. */
export function headRun(queue: readonly QueueEntry[], maxBatchSize: number, now: number): HeadRun {
  const run: HeadRun = { ids: [], sums: [], blocked: false };
  let key: string | undefined;
  let total = 0;
  for (const e of queue) {
    if (isExpiredReject(e, now)) continue;
    if (key === undefined) key = e.shapeKey;
    else if (e.shapeKey !== key || total + e.batchSize > maxBatchSize) {
      run.blocked = true;
      break;
    }
    // The first request always starts a batch, even if oversized (the router refuses those, validate.ts).
    total += e.batchSize;
    run.ids.push(e.id);
    run.sums.push(total);
  }
  if (total >= maxBatchSize) run.blocked = true;
  return run;
}

/** Earliest enqueue time among the requests that may still run (Infinity for none). */
export function oldestEnqueue(queue: readonly QueueEntry[], now: number): number {
  let oldest = Number.POSITIVE_INFINITY;
  for (const e of queue) if (e.enqueuedAt < oldest && !isExpiredReject(e, now)) oldest = e.enqueuedAt;
  return oldest;
}

/** How many of the run's requests to dispatch now; 0 = wait. */
export function chooseCut(run: HeadRun, config: BatchConfig, oldest: number, now: number): number {
  const delay = config.maxQueueDelayMs;
  // Same expression as the wait's untilMs, so waking exactly then always dispatches.
  const delayExceeded = delay > 0 && now >= oldest + delay;
  const preferred = bestPreferredCut(run.sums, config.preferredBatchSizes);
  if (preferred > 0 && !delayExceeded) return preferred;
  if (run.blocked || delay === 0 || delayExceeded) return run.ids.length;
  return 0;
}

/**
 * The prefix ending at the largest preferred size reached; if the run passes the largest
 * preferred size without hitting any, the longest prefix not above it (at least one request).
 * 0 when neither applies (the run is still below every preferred size it could hit).
 */
export function bestPreferredCut(sums: readonly number[], preferred: readonly number[]): number {
  const maxPreferred = preferred[preferred.length - 1] ?? Number.POSITIVE_INFINITY;
  let best = 0;
  for (let i = 0; i < sums.length; i++) {
    const s = sums[i]!;
    if (s > maxPreferred) return best > 0 ? best : Math.max(1, i);
    if (preferred.includes(s)) best = i + 1;
  }
  return best;
}
