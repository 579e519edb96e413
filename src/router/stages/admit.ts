/**
 * Admission: may this principal infer on this model, and is its rate budget left? Runs before
 * `resolve`, so a model outside the principal's tenant answers exactly like a model that does not
 * exist (nothing about its versions or readiness leaks). The limiter is per principal (its own
 * limit, else the server default); a refusal is 429 with Retry-After, gRPC RESOURCE_EXHAUSTED.
 */
import type { Admission, Gatekeeper, RateLimiter } from '../../auth/types.js';
import { InferError } from '../../core/index.js';
import type { Dispatch, Exchange, Stage } from '../pipeline.js';

export interface AdmitOptions {
  gatekeeper: Gatekeeper;
  limiter?: RateLimiter;
  /** Applies to principals without a limit of their own; absent: only those are limited. */
  defaultLimit?: { rate: number; burst: number };
  /** Counts refusals by reason (metrics). */
  onRefused?: (reason: 'rate_limited') => void;
}

export function admit(o: AdmitOptions): Stage {
  const refused = (a: Extract<Admission, { ok: false }>): InferError => {
    o.onRefused?.('rate_limited');
    const seconds = Math.max(1, Math.ceil(a.retryAfterMs / 1000));
    return new InferError('IG_ERR_RATE_LIMITED', `rate limit exceeded: retry in ${seconds} s`, {
      headers: { 'retry-after': String(seconds) },
    });
  };
  return (next) => {
    const dispatch: Dispatch = (x: Exchange) => {
      const p = x.ctx.principal;
      o.gatekeeper.authorize(p, 'infer', x.request.model);
      const limit = p.rateLimit ?? o.defaultLimit;
      if (!o.limiter || !limit) return next(x);
      const a = o.limiter.take(p.id, limit);
      if (a instanceof Promise)
        return a.then((r) => {
          if (!r.ok) throw refused(r);
          return next(x);
        });
      if (!a.ok) throw refused(a);
      return next(x);
    };
    return dispatch;
  };
}
