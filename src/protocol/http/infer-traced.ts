/**
 * The infer endpoint with tracing: when tracing is on and samples the request, a request span
 * continues the caller's `traceparent` and ends with the response status. When tracing is off
 * this is one boolean check before the plain handler.
 */
import { InferError } from '../../core/index.js';
import { infer } from './infer-handler.js';
import type { RequestSpan } from '../../observability/tracing.js';
import type { Handler, HttpResult } from './types.js';

function header(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

/** POST /v2/models/{m}[/versions/{v}]/infer, traced when sampled (not async: no extra promise when off). */
export const tracedInfer: Handler = (deps, match, req) => {
  const tracing = deps.tracing;
  if (tracing === undefined || !tracing.on) return infer(deps, match, req);
  const h = req.headers;
  const span = tracing.startRequest('http', match.params.model ?? '', header(h.traceparent), header(h.tracestate));
  if (span === undefined) return infer(deps, match, req);
  req.trace = span;
  return withSpan(span, infer(deps, match, req));
};

async function withSpan(span: RequestSpan, run: HttpResult | Promise<HttpResult>): Promise<HttpResult> {
  try {
    const result = await run;
    span.end(result.status);
    return result;
  } catch (err) {
    const status = err instanceof InferError ? err.httpStatus : 500;
    span.end(status, err instanceof Error ? err.message : 'error');
    throw err;
  }
}
