/**
 * Refuses a call that is already past its deadline before any work is spent on it (validation,
 * queueing). Calls whose deadline passes later are refused by the scheduler (queued) and the
 * backend (at the start of the batch), so a late call never executes.
 */
import { type Clock, deadlineExceeded } from '../../core/index.js';
import type { Stage } from '../pipeline.js';

export function deadline(clock: Clock): Stage {
  return (next) => (x) => {
    const d = x.ctx.deadline;
    if (d !== Number.POSITIVE_INFINITY && d <= clock.wallMs()) throw deadlineExceeded();
    return next(x);
  };
}
