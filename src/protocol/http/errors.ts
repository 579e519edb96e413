/**
 * Every failure leaves the HTTP layer as `{"error": message}` with the status and headers of its
 * InferError. Anything that is not an InferError becomes a 500 "internal error": no stack, path or
 * library message reaches the client (the original goes to the onError hook for logging).
 */
import { InferError, toInferError } from '../../core/index.js';

/** The registry code of an error answer (IG_ERR_…), for clients and load balancers that act on it. */
export const ERROR_CODE_HEADER = 'infergate-error-code';

/** A finished HTTP error: status, JSON body text and extra headers. */
export interface HttpError {
  status: number;
  body: string;
  headers: Record<string, string>;
}

/** Route-level errors with Triton's fixed texts. */
export const routeNotFound = (): InferError => new InferError('IG_ERR_ROUTE_NOT_FOUND', 'Not Found');
export const methodNotAllowed = (): InferError => new InferError('IG_ERR_METHOD_NOT_ALLOWED', 'Method Not Allowed');

/**
 * Maps anything thrown to the HTTP error to send. `onInternal` sees only the unexpected failures
 * (internal errors); an expected 5xx such as a full queue or a model that is not ready is an
 * outcome, already in the request log, and logging each with a stack would flood the log exactly
 * when the server sheds load.
 */
export function toHttpError(err: unknown, onInternal?: (err: unknown) => void): HttpError {
  const inferError = err instanceof InferError ? err : fromFramework(err);
  if (inferError.code === 'IG_ERR_INTERNAL') onInternal?.(err);
  return {
    status: inferError.httpStatus,
    body: JSON.stringify({ error: inferError.message }),
    // The stable code travels as a header: the body stays Triton's `{"error": …}`, which clients parse.
    headers: { 'content-type': 'application/json', [ERROR_CODE_HEADER]: inferError.code, ...inferError.headers },
  };
}

// fastify reports client mistakes it catches itself (bad Content-Type, body limit) as FST_* errors
// with a 4xx statusCode; their messages are fixed texts, safe to show.
const FRAMEWORK_CODES: Record<number, InferError['code']> = {
  413: 'IG_ERR_PAYLOAD_TOO_LARGE',
  404: 'IG_ERR_ROUTE_NOT_FOUND',
  405: 'IG_ERR_METHOD_NOT_ALLOWED',
};

function fromFramework(err: unknown): InferError {
  const e = err as { code?: unknown; statusCode?: unknown; message?: unknown } | null;
  if (
    e !== null &&
    typeof e === 'object' &&
    typeof e.code === 'string' &&
    e.code.startsWith('FST_') &&
    typeof e.statusCode === 'number' &&
    e.statusCode >= 400 &&
    e.statusCode < 500
  ) {
    const code = FRAMEWORK_CODES[e.statusCode] ?? 'IG_ERR_INVALID_ARG';
    return new InferError(code, String(e.message), { cause: err });
  }
  return toInferError(err);
}
