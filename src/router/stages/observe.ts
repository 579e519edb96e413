/**
 * Outermost stage: ends every call exactly once, as `answered` (after the transport wrote the
 * response) or `failed`, with its end time, and turns anything thrown into a client-safe
 * InferError. Statistics, request logs and the monitoring tap all hang on these two events.
 */
import { type Clock, requestIdHeader, toInferError, withHeaders } from '../../core/index.js';
import type { Hooks } from '../hooks.js';
import type { Stage } from '../pipeline.js';

export function observe(hooks: Hooks, clock: Clock): Stage {
  return (next) => async (x) => {
    try {
      const response = await next(x);
      x.endedAt = clock.now();
      if (hooks.has('answered')) {
        const written = x.ctx.written;
        if (written) written.onWritten(() => hooks.run('answered', x, response));
        else hooks.run('answered', x, response);
      }
      return response;
    } catch (err) {
      const e = toInferError(err);
      x.endedAt = clock.now();
      x.error = e;
      hooks.run('failed', x, e);
      // The client sees the id its call is logged under (the detail of a 5xx is only in the log).
      throw withHeaders(e, requestIdHeader(x.ctx.requestId));
    }
  };
}
