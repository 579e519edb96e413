/**
 * A job's deadline (Job.deadline, Clock.now() ms) as pure functions: whether it has passed, which
 * queued jobs it expires, and the deadline a batch hands its backend (ExecOptions, epoch ms).
 * A deadline that is absent or not finite is no deadline.
 */
import type { ExecOptions } from '../backend/types.js';
import type { Clock } from '../core/index.js';
import type { Job } from './types.js';

/** Anything that carries a job: the schedulers' queued tickets. */
interface HasJob {
  readonly job: Pick<Job, 'deadline'>;
}

/** True when `deadline` has passed at `now` (same rule as queue timeouts: due at the instant itself). */
export function deadlinePassed(deadline: number | undefined, now: number): boolean {
  return deadline !== undefined && deadline <= now;
}

/** What a deadline sweep found: the items to reject, and the earliest deadline still ahead. */
export interface DeadlineSweep<T> {
  expired: T[];
  /** Clock ms; Infinity when no remaining item has a deadline (the driver then needs no wake-up for it). */
  next: number;
}

/** Finds the queued items whose job's deadline has passed at `now`. */
export function sweepDeadlines<T extends HasJob>(items: Iterable<T>, now: number): DeadlineSweep<T> {
  const out: DeadlineSweep<T> = { expired: [], next: Number.POSITIVE_INFINITY };
  for (const it of items) {
    const d = it.job.deadline;
    if (d === undefined) continue;
    if (d <= now) out.expired.push(it);
    else if (d < out.next) out.next = d;
  }
  return out;
}

/**
 * The ExecOptions a batch runs with: the latest of its jobs' deadlines (the batch must still run
 * while any of its jobs may), converted to epoch ms, the clock backends share across threads.
 * Undefined as soon as one job has no deadline: that job may run whenever, so the backend must
 * not drop the batch. Without deadlines the backend thus sees exactly what it saw before they existed.
 */
export function batchExecOptions(items: readonly HasJob[], clock: Clock): ExecOptions | undefined {
  let latest = Number.NEGATIVE_INFINITY;
  for (const it of items) {
    const d = it.job.deadline;
    if (d === undefined || !Number.isFinite(d)) return undefined;
    if (d > latest) latest = d;
  }
  if (latest === Number.NEGATIVE_INFINITY) return undefined;
  return { deadline: clock.wallMs() + (latest - clock.now()) };
}
