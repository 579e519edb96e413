// What a client call's failure was, as a history outcome. The server's wire carries only an HTTP
// status or a gRPC status code plus a message (no IG_ERR_… code), so the two worker codes the checker
// needs are recognised by the fixed texts of src/backend/ort/instance.ts and src/scheduler/errors.ts.
import { ServerError } from '../../src/client/http-client.js';
import type { Outcome } from './history.js';

const CRASHED = /crashed while executing the request/;
// Refused before reaching a worker (it is restarting): a retryable 503.
const REFUSED_RESTARTING = /no live instance|is not available: it crashed/;
const HUNG = /did not answer/;

/** The IG_ERR_… code a server message identifies, when it is one the checker reasons about. */
export function codeOfMessage(message: string): string | undefined {
  if (CRASHED.test(message)) return 'IG_ERR_WORKER_CRASHED';
  if (REFUSED_RESTARTING.test(message)) return 'IG_ERR_UNAVAILABLE';
  if (HUNG.test(message)) return 'IG_ERR_WORKER_HUNG';
  return undefined;
}

// undici's connection errors, on the error or its cause.
const REFUSED = new Set(['ECONNREFUSED']);

function errCode(err: unknown): string | undefined {
  const e = err as { code?: unknown; cause?: { code?: unknown } } | null;
  if (typeof e?.code === 'string') return e.code;
  if (typeof e?.cause?.code === 'string') return e.cause.code;
  return undefined;
}

/** An HTTP client failure: an answer with a status, a refused connection, or an ambiguous transport error. */
export function classifyHttp(err: unknown): Outcome {
  if (err instanceof ServerError)
    return {
      type: 'fail',
      status: err.status,
      code: codeOfMessage(err.message),
      message: err.message,
      notAccepted: false,
    };
  const code = errCode(err);
  const message = err instanceof Error ? err.message : String(err);
  if (code !== undefined && REFUSED.has(code)) return { type: 'fail', status: 0, code, message, notAccepted: true };
  // A reset, a socket closed under the request, or our own abort: the server may have run it.
  return { type: 'info', code: code ?? (err as Error)?.name, message };
}

const UNAVAILABLE = 14;

/**
 * A gRPC client failure. grpc-js reports transport trouble as UNAVAILABLE too, so its own texts
 * separate "never connected" (not accepted) and "connection lost mid-call" (ambiguous) from the
 * server's UNAVAILABLE answers (a full queue, a draining version: InferError texts).
 */
export function classifyGrpc(err: unknown): Outcome {
  const e = err as { code?: unknown; details?: unknown; message?: unknown } | null;
  const status = typeof e?.code === 'number' ? e.code : -1;
  const message = typeof e?.details === 'string' ? e.details : String(e?.message ?? err);
  if (status === UNAVAILABLE && /ECONNREFUSED|No connection established|Failed to connect/i.test(message))
    return { type: 'fail', status, code: 'ECONNREFUSED', message, notAccepted: true };
  if (status === UNAVAILABLE && /ECONNRESET|Connection dropped|RST_STREAM|GOAWAY|socket|Stream refused/i.test(message))
    return { type: 'info', code: 'UNAVAILABLE', message };
  if (status === -1) return { type: 'info', code: errCode(err), message };
  return { type: 'fail', status, code: codeOfMessage(message), message, notAccepted: false };
}
