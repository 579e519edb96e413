/**
 * ModelInfer with tracing: when tracing is on and samples the call, a request span continues the
 * `traceparent` metadata entry and records response encoding. When tracing is off this is one
 * boolean check before the plain handler.
 */
import type { Metadata } from '@grpc/grpc-js';
import { InferError } from '../../core/index.js';
import type { RequestSpan, Tracing } from '../../observability/tracing.js';
import type { InferenceService } from '../../router/types.js';
import { decodeInferRequest } from './infer-decode.js';
import { encodeInferResponse } from './infer-encode.js';
import type { InferenceImpl } from './types.js';

type ModelInfer = InferenceImpl['modelInfer'];

function entry(md: Metadata, key: string): string | undefined {
  const v = md.get(key)[0];
  return v === undefined ? undefined : String(v);
}

/** Wraps the plain ModelInfer implementation with request spans. */
export function tracedModelInfer(service: InferenceService, tracing: Tracing, plain: ModelInfer): ModelInfer {
  return (req, ctx) => {
    if (!tracing.on) return plain(req, ctx);
    const md = ctx.metadata;
    const span = tracing.startRequest('grpc', req.modelName, entry(md, 'traceparent'), entry(md, 'tracestate'));
    if (span === undefined) return plain(req, ctx);
    return run(span, async () => {
      const request = decodeInferRequest(req, ctx.signal);
      if (ctx.signal.aborted) throw ctx.signal.reason;
      request.trace = span;
      const response = await service.infer(request);
      const t0 = performance.now();
      const encoded = encodeInferResponse(response, req.id);
      span.encoded(t0, performance.now());
      return encoded;
    });
  };
}

async function run<T>(span: RequestSpan, fn: () => Promise<T>): Promise<T> {
  try {
    const out = await fn();
    span.end(0);
    return out;
  } catch (err) {
    const code = err instanceof InferError ? err.grpcStatus : 2;
    span.end(code, err instanceof Error ? err.message : 'error');
    throw err;
  }
}
