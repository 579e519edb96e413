/**
 * The router's own lifecycle hooks: statistics and metrics, the request log, and the tracing
 * stages. Each is a plain hook on hooks.ts, installed by the Router; none is inlined in a stage.
 */
import type { Clock } from '../core/index.js';
import { failureReasonOf, unroutedReasonOf } from '../observability/failure-reason.js';
import type { Metrics } from '../observability/metrics.js';
import type { LoggedRequest, RequestLog } from '../observability/request-log.js';
import type { StatsRegistry } from '../observability/stats-registry.js';
import type { Hooks } from './hooks.js';
import type { Exchange } from './pipeline.js';

const ms = (x: Exchange) => (x.endedAt ?? x.startedAt) - x.startedAt;

/** Per-version statistics (Triton's statistics extension, the metric families read them). */
export function installStatistics(
  hooks: Hooks,
  stats: StatsRegistry,
  metrics: Pick<Metrics, 'countUnrouted'> | undefined,
  clock: Clock,
): void {
  hooks.add(
    'answered',
    (x) => {
      const { primary } = x.target!;
      const s = stats.get(primary.model, primary.version);
      const c = x.cache;
      if (c) stats.get(c.model, c.version).cacheLookup(c.hit, c.ns);
      const r = x.result;
      // A cache hit, or a fallback answer that ran nothing (default, cache step): no execution to count.
      if (c?.hit || r === undefined || x.validated === undefined)
        s.servedWithoutRun(clock.wallMs(), ms(x) * 1e6, x.ctx.protocol);
      else s.success(clock.wallMs(), ms(x) * 1e6, r.queueNs, x.validated.batchSize, r.timing, x.ctx.protocol);
    },
    { label: 'statistics' },
  );
  hooks.add(
    'failed',
    (x, e) => {
      // A call that never reached a version is counted without model labels: the name is the client's.
      const c = x.cache;
      if (c) stats.get(c.model, c.version).cacheLookup(false, c.ns);
      if (x.target === undefined) metrics?.countUnrouted(unroutedReasonOf(e.code));
      else {
        const { primary } = x.target;
        const reason = failureReasonOf(e.code);
        stats.get(primary.model, primary.version).failure(clock.wallMs(), ms(x) * 1e6, reason, x.ctx.protocol);
      }
    },
    { label: 'statistics' },
  );
}

/** One log line per call (successes at debug level only). */
export function installRequestLog(hooks: Hooks, log: RequestLog): void {
  hooks.add(
    'answered',
    (x) => {
      if (log.successes) log.success(logged(x), x.target!.primary.model, x.target!.primary.version, ms(x));
    },
    { label: 'request log' },
  );
  hooks.add('failed', (x, e) => log.failure(logged(x), e, ms(x), x.target?.primary.model, x.target?.primary.version), {
    label: 'request log',
  });
}

function logged(x: Exchange): LoggedRequest {
  const { ctx } = x;
  return { requestId: ctx.requestId, model: x.request.model, trace: ctx.trace, protocol: ctx.protocol };
}

/** The request span's resolved version and queue wait (the span itself is the transport's). */
export function installTracing(hooks: Hooks): void {
  hooks.add(
    'resolved',
    (x) => {
      const { primary } = x.target!;
      x.ctx.trace?.resolved(primary.model, String(primary.version));
    },
    { label: 'tracing' },
  );
  hooks.add(
    'queued',
    (x) => {
      const at = x.submittedAt!;
      x.ctx.trace?.queued(at, at + x.result!.queueNs / 1e6);
    },
    { label: 'tracing' },
  );
}
