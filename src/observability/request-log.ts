/**
 * One structured log line per inference request: at debug level for successes (skipped with a
 * single level check otherwise) and at warn (client-side and queue failures) or error (server-side
 * failures) for failed requests. Load shedding (full queue, queue timeout, unavailable) is sampled:
 * at most one line per model and code per second, carrying how many were left out, because under
 * overload a line per rejection would cost the event loop exactly when it is busiest. Fields: request id (the client's, or one generated for the call and
 * never sent back), trace id, model, version, protocol, outcome, latency. Tensor data is never logged.
 */
import type { InferError, RequestTrace } from '../core/index.js';
import { failureReasonOf } from './failure-reason.js';
import type { Logger } from './logger.js';

/** pino's numeric value of the debug level. */
const DEBUG = 20;
/** Codes that mean the server (or the model) failed, logged at error with their cause. */
const SERVER_SIDE = new Set([
  'IG_ERR_INTERNAL',
  'IG_ERR_WORKER_CRASHED',
  'IG_ERR_WORKER_HUNG',
  'IG_ERR_MODEL_EXECUTION',
]);
/** Outcomes of shedding load: expected under overload, counted in metrics, sampled in the log. */
const SHED = new Set(['IG_ERR_QUEUE_FULL', 'IG_ERR_QUEUE_TIMEOUT', 'IG_ERR_UNAVAILABLE']);
/** At most one shed line per model and code in this window. */
const SHED_WINDOW_MS = 1000;
/** Client-chosen strings are cut to this length in logs. */
const MAX_TEXT = 128;

/** What the log line needs from the request. */
export interface LoggedRequest {
  /** The call's request id (CallContext.requestId: the client's, or one generated for the call). */
  requestId: string;
  /** The model name as the client wrote it. */
  model: string;
  trace?: RequestTrace;
  protocol: string;
}

/** Writes request log lines. */
export class RequestLog {
  /** Per `model|code`: when the last shed line was written and how many were left out since. */
  private readonly shed = new Map<string, { at: number; suppressed: number }>();

  constructor(
    private readonly logger: Logger,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Whether success lines are written now (the level can change at runtime via /v2/logging). */
  get successes(): boolean {
    return this.logger.levelVal <= DEBUG;
  }

  /** Logs a successful request at debug level. */
  success(req: LoggedRequest, model: string, version: string | number, ms: number): void {
    if (!this.successes) return;
    this.logger.debug(this.fields(req, model, version, 'success', ms), 'inference request');
  }

  /** Logs a failed request; `model`/`version` are the resolved ones (undefined when never resolved). */
  failure(req: LoggedRequest, e: InferError, ms: number, model?: string, version?: string | number): void {
    const outcome = failureReasonOf(e.code).toLowerCase();
    const fields = {
      ...this.fields(req, model ?? req.model.slice(0, MAX_TEXT), version, outcome, ms),
      code: e.code,
      error: e.message.slice(0, 512),
    };
    if (SERVER_SIDE.has(e.code)) this.logger.error({ ...fields, err: e.cause ?? e }, 'inference request failed');
    else if (!SHED.has(e.code)) this.logger.warn(fields, 'inference request failed');
    else {
      const suppressed = this.sampleShed(`${fields.model}|${e.code}`);
      if (suppressed !== undefined) this.logger.warn({ ...fields, suppressed }, 'inference request failed');
    }
  }

  // undefined = leave this line out; else the number left out since the previous line.
  private sampleShed(key: string): number | undefined {
    const t = this.now();
    const s = this.shed.get(key);
    if (s !== undefined && t - s.at < SHED_WINDOW_MS) {
      s.suppressed++;
      return undefined;
    }
    const suppressed = s?.suppressed ?? 0;
    // Keys include model names; a client cycling through names must not grow this without bound.
    if (this.shed.size >= 1024) this.shed.clear();
    this.shed.set(key, { at: t, suppressed: 0 });
    return suppressed;
  }

  private fields(req: LoggedRequest, model: string, version: string | number | undefined, outcome: string, ms: number) {
    return {
      request_id: req.requestId.slice(0, MAX_TEXT),
      trace_id: req.trace?.traceId,
      model,
      version: version === undefined ? undefined : String(version),
      protocol: req.protocol,
      outcome,
      latency_ms: Math.round(ms * 1000) / 1000,
    };
  }
}
