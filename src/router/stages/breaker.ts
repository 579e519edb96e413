/**
 * The target version's circuit breaker (resilience/breaker.ts) around the rest of the pipeline:
 * a call to a version whose breaker is open is refused at once with IG_ERR_BREAKER_OPEN (503 and
 * Retry-After; the `fallback` stage outside this one then takes its chain's next step); a call let
 * through reports its outcome when it settles. Versions without a `circuit_breaker` section pay
 * one WeakMap lookup.
 */
import { type Clock, InferError, type InferResponse } from '../../core/index.js';
import type { Breakers } from '../../resilience/breakers.js';
import { need, type Stage } from '../pipeline.js';

/** Server-side failures say the version is unhealthy; anything else (client errors, refusals) says nothing. */
const FAILURES = new Set(['IG_ERR_MODEL_EXECUTION', 'IG_ERR_WORKER_CRASHED', 'IG_ERR_WORKER_HUNG', 'IG_ERR_INTERNAL']);

export function breaker(breakers: Breakers, clock: Clock): Stage {
  return (next) => (x) => {
    const { primary } = need(x.target, 'target', 'breaker');
    const b = breakers.of(primary.spec);
    if (b === undefined) return next(x);
    const start = clock.now();
    const ticket = b.admit(start);
    if ('refused' in ticket) throw breakerOpen(primary.model, primary.version, ticket.retryAfterMs);
    x.probe = ticket.probe;
    const slow = b.spec.slowCallMs;
    return next(x).then(
      (res: InferResponse) => {
        const now = clock.now();
        b.record(ticket, slow === 0 || now - start <= slow, now);
        return res;
      },
      (err: unknown) => {
        const code = err instanceof InferError ? err.code : 'IG_ERR_INTERNAL';
        b.record(ticket, FAILURES.has(code) ? false : undefined, clock.now());
        throw err;
      },
    );
  };
}

function breakerOpen(model: string, version: number, retryAfterMs: number): InferError {
  return new InferError(
    'IG_ERR_BREAKER_OPEN',
    `circuit breaker of model '${model}' version ${version} is open: it failed recently; try again later`,
    { headers: { 'retry-after': String(Math.max(1, Math.ceil(retryAfterMs / 1000))) } },
  );
}
