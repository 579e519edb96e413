/**
 * The call's deadline, decided once: the client's (gRPC deadline, `infergate-timeout-ms`), else the
 * model's `resilience.default_timeout_ms`, never later than the server's maximum
 * (`--max-timeout-ms`; a client that asked for longer is told in the response parameter
 * `deadline_clamped_ms`). A call already past it is refused here, before any work (validation,
 * queueing); calls whose deadline passes later are refused by the scheduler (queued) and the
 * backend (at the start of the batch), so a late call never executes.
 * Runs after `resolve`: the default is the target model's.
 */
import { type Clock, deadlineExceeded, type InferResponse } from '../../core/index.js';
import type { Stage } from '../pipeline.js';
import { CLAMPED_PARAM } from '../types.js';

export interface DeadlineOptions {
  /** The server's maximum deadline in ms from arrival (absent: none). */
  maxTimeoutMs?: number;
}

export function deadline(clock: Clock, o: DeadlineOptions = {}): Stage {
  const max = o.maxTimeoutMs;
  return (next) => (x) => {
    const now = clock.wallMs();
    let d = x.ctx.deadline;
    if (d === Number.POSITIVE_INFINITY) {
      const byModel = x.target?.primary.spec.resilience?.defaultTimeoutMs;
      if (byModel !== undefined) d = now + byModel;
    }
    if (max !== undefined && d - now > max) {
      const asked = d !== Number.POSITIVE_INFINITY;
      x.deadline = now + max;
      if (asked) return next(x).then((res) => clampedNote(res, max));
      return next(x);
    }
    if (d !== Number.POSITIVE_INFINITY && d <= now) throw deadlineExceeded();
    x.deadline = d;
    return next(x);
  };
}

function clampedNote(res: InferResponse, max: number): InferResponse {
  res.parameters = { ...res.parameters, [CLAMPED_PARAM]: max };
  return res;
}
