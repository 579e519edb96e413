/**
 * Stopping without dropping calls, in the order load balancers and orchestrators need (Knative /
 * Envoy style; reliability.md R11):
 *   1. readiness is already false (the caller flipped it): probes see 503 at once;
 *   2. drain: keep accepting and serving for `drainMs` while load balancers notice, each HTTP
 *      response saying `Connection: close` and every open gRPC connection told GOAWAY, so
 *      keep-alive clients move on without a reset;
 *   3. stop accepting, let in-flight calls finish and unload every version;
 *   4. bounded: past `exitTimeoutMs` every call still queued is answered with a retryable 503
 *      (Retry-After) instead of waiting, and shutdown returns after a short grace for those
 *      answers to go out; executions already running are left to the process exit.
 */
import { InferError } from '../core/index.js';
import type { Logger } from '../observability/logger.js';
import type { ModelRepositoryApi } from '../repository/types.js';

/** The parts of a running server shutdown drives. */
export interface ShutdownParts {
  http?: { drain(): void; close(): Promise<void> };
  grpc?: { drain(): void; close(): Promise<void> };
  repository: Pick<ModelRepositoryApi, 'stop' | 'abandonQueued'>;
  logger: Pick<Logger, 'info' | 'warn'>;
}

/** How long the abandoned calls' 503s get to leave once the exit timeout passed. */
const ANSWER_GRACE_MS = 1000;

/** Resolves true when `work` did not settle within `ms`. */
function timedOut(work: Promise<unknown>, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(true), ms);
    timer.unref();
    void work.finally(() => {
      clearTimeout(timer);
      resolve(false);
    });
  });
}

/**
 * Drains, stops and unloads; resolves within drainMs + exitTimeoutMs + a second, `timedOut` when
 * the unloading had still not finished then (queued calls were answered 503 at the exit timeout).
 */
export async function shutdown(
  p: ShutdownParts,
  drainMs: number,
  exitTimeoutMs: number,
): Promise<{ timedOut: boolean }> {
  p.http?.drain();
  p.grpc?.drain();
  if (drainMs > 0) {
    p.logger.info({ drainMs }, 'draining: readiness is false, still serving while load balancers notice');
    await new Promise((r) => setTimeout(r, drainMs));
  }
  p.logger.info('no longer accepting connections; finishing in-flight requests');
  const graceful = (async () => {
    await Promise.all([p.http?.close(), p.grpc?.close()]);
    await p.repository.stop();
  })();
  void graceful.catch(() => {});
  if (!(await timedOut(graceful, exitTimeoutMs))) {
    await graceful;
    return { timedOut: false };
  }
  p.logger.warn({ exitTimeoutMs }, 'exit timeout passed: answering queued requests with 503 and exiting');
  p.repository.abandonQueued(
    new InferError('IG_ERR_UNAVAILABLE', 'server is shutting down; retry on another replica', {
      headers: { 'Retry-After': '1' },
    }),
  );
  // Still not done after the grace: work may be inside a native call, which the caller must not
  // wait for (timedOut). Done meanwhile: every version is unloaded, an orderly exit is safe.
  return { timedOut: await timedOut(graceful, ANSWER_GRACE_MS) };
}
