/**
 * One queued request as the pure scheduling functions see it: plain data, no promises, no tensors.
 * The driver keeps its queue as an array of these in dispatch order (see insertInOrder).
 */
export interface QueueEntry {
  /** Unique per scheduler; also the arrival order (FIFO within a priority level). */
  id: number;
  /** Resolved priority level, 1 = highest. */
  level: number;
  /** Clock ms when the request entered the queue. */
  enqueuedAt: number;
  /** Clock ms after which the level's timeout action applies; Infinity = no timeout. */
  deadline: number;
  timeoutAction: 'REJECT' | 'DELAY';
  /** True once a DELAY request's deadline passed: it then goes behind its level's non-expired requests. */
  delayed: boolean;
  /** Latency-objective mode: the deadline is the objective's queue budget, so expiry means shed. */
  shed?: boolean;
  /** Batch size the request carries (first dim); a request is never split. */
  batchSize: number;
  /** Requests are batched together only when their keys are equal (non-batch dims, outputs). */
  shapeKey: string;
}

/** Dispatch order: level first (1 = highest), then non-delayed before delayed, then arrival. */
export function compareEntries(a: QueueEntry, b: QueueEntry): number {
  if (a.level !== b.level) return a.level - b.level;
  if (a.delayed !== b.delayed) return a.delayed ? 1 : -1;
  return a.id - b.id;
}

/** Inserts an entry into a queue already in dispatch order (binary search; mutates `queue`). */
export function insertInOrder(queue: QueueEntry[], entry: QueueEntry): void {
  let lo = 0;
  let hi = queue.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compareEntries(queue[mid]!, entry) <= 0) lo = mid + 1;
    else hi = mid;
  }
  queue.splice(lo, 0, entry);
}

/** True when the entry's deadline passed and its policy says it must be rejected, never executed. */
export function isExpiredReject(e: QueueEntry, now: number): boolean {
  return e.timeoutAction === 'REJECT' && e.deadline <= now;
}
