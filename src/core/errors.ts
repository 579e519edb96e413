/**
 * The one coded error registry. Every failure that reaches a client is an InferError with a
 * stable code; HTTP status and gRPC status are mapped here once (Triton's mapping, protocol.md §A.7).
 * Messages are client-facing: never put paths, stacks or internals in them; keep those in `cause`.
 */

/** gRPC status codes used by the registry. */
export const GrpcStatus = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  UNAUTHENTICATED: 16,
} as const;

interface ErrorDef {
  http: number;
  grpc: number;
}

export const ERRORS = {
  /** Malformed or inconsistent request (datatype, shape, sizes, JSON). */
  IG_ERR_INVALID_ARG: { http: 400, grpc: GrpcStatus.INVALID_ARGUMENT },
  /** Unknown model or version (Triton's "Request for unknown model" texts). */
  IG_ERR_MODEL_NOT_FOUND: { http: 404, grpc: GrpcStatus.NOT_FOUND },
  /** Known model version that is not ready (loading, unloading, failed). */
  IG_ERR_MODEL_NOT_READY: { http: 503, grpc: GrpcStatus.UNAVAILABLE },
  /** Unknown HTTP route. */
  IG_ERR_ROUTE_NOT_FOUND: { http: 404, grpc: GrpcStatus.UNIMPLEMENTED },
  /** Known route, wrong method. */
  IG_ERR_METHOD_NOT_ALLOWED: { http: 405, grpc: GrpcStatus.UNIMPLEMENTED },
  /** Body over the configured limit. */
  IG_ERR_PAYLOAD_TOO_LARGE: { http: 413, grpc: GrpcStatus.RESOURCE_EXHAUSTED },
  /** A Content-Type or Content-Encoding the server does not read. */
  IG_ERR_UNSUPPORTED_MEDIA_TYPE: { http: 415, grpc: GrpcStatus.INVALID_ARGUMENT },
  /** Feature this server does not provide (shared memory registration…). */
  IG_ERR_UNSUPPORTED: { http: 501, grpc: GrpcStatus.UNIMPLEMENTED },
  /** Server cannot take the request now (shutting down, control mode forbids). */
  IG_ERR_UNAVAILABLE: { http: 503, grpc: GrpcStatus.UNAVAILABLE },
  /** Bounded queue is full. */
  IG_ERR_QUEUE_FULL: { http: 503, grpc: GrpcStatus.UNAVAILABLE },
  /** Request waited in the queue past its timeout. */
  IG_ERR_QUEUE_TIMEOUT: { http: 503, grpc: GrpcStatus.UNAVAILABLE },
  /** Client went away or cancelled. */
  IG_ERR_CANCELLED: { http: 400, grpc: GrpcStatus.CANCELLED },
  /** Deadline passed. */
  IG_ERR_DEADLINE_EXCEEDED: { http: 504, grpc: GrpcStatus.DEADLINE_EXCEEDED },
  /** Shared-memory region referenced but not registered. */
  IG_ERR_SHM_NOT_FOUND: { http: 404, grpc: GrpcStatus.NOT_FOUND },
  /** A shared-memory region of that name is already registered (Triton's ALREADY_EXISTS, HTTP 400). */
  IG_ERR_SHM_EXISTS: { http: 400, grpc: GrpcStatus.ALREADY_EXISTS },
  /** The server holds as many shared-memory regions as it allows; unregister some first. */
  IG_ERR_SHM_LIMIT: { http: 400, grpc: GrpcStatus.RESOURCE_EXHAUSTED },
  /** A model failed to load (bad file, config mismatch). */
  IG_ERR_MODEL_LOAD: { http: 400, grpc: GrpcStatus.INVALID_ARGUMENT },
  /** The model raised during execution. */
  IG_ERR_MODEL_EXECUTION: { http: 500, grpc: GrpcStatus.INTERNAL },
  /** The worker running the request died; the request was not completed. */
  IG_ERR_WORKER_CRASHED: { http: 500, grpc: GrpcStatus.INTERNAL },
  /** The worker did not answer within the watchdog's bound; it is being replaced. Retryable. */
  IG_ERR_WORKER_HUNG: { http: 503, grpc: GrpcStatus.UNAVAILABLE },
  /** The version's circuit breaker is open (it failed recently) and no fallback step answered. Retryable. */
  IG_ERR_BREAKER_OPEN: { http: 503, grpc: GrpcStatus.UNAVAILABLE },
  /** Registry: unknown model, version, alias or record (the message names it). */
  IG_ERR_NOT_FOUND: { http: 404, grpc: GrpcStatus.NOT_FOUND },
  /** Registry: a compare-and-set lost (alias moved meanwhile) or the record already exists. */
  IG_ERR_CONFLICT: { http: 409, grpc: GrpcStatus.ABORTED },
  /** Registry: a promotion refused by the validation gate (the message names the failed check). */
  IG_ERR_GATE_FAILED: { http: 409, grpc: GrpcStatus.FAILED_PRECONDITION },
  /** Registry: an artifact whose sha256 or size is not what was declared; nothing was registered. */
  IG_ERR_CHECKSUM: { http: 422, grpc: GrpcStatus.INVALID_ARGUMENT },
  /** Registry: the store (SQLite file, PostgreSQL server) or a fetch source cannot be reached now. */
  IG_ERR_STORE_UNAVAILABLE: { http: 503, grpc: GrpcStatus.UNAVAILABLE },
  /** Registry: a source URL refused by the fetch policy (scheme, private address, redirect, size). */
  IG_ERR_FORBIDDEN_SOURCE: { http: 403, grpc: GrpcStatus.PERMISSION_DENIED },
  /** No valid credentials (one identical message whatever was wrong; the reason goes to the log). */
  IG_ERR_UNAUTHENTICATED: { http: 401, grpc: GrpcStatus.UNAUTHENTICATED },
  /** Authenticated, but the principal lacks the scope (the message names the scope). */
  IG_ERR_FORBIDDEN: { http: 403, grpc: GrpcStatus.PERMISSION_DENIED },
  /** The principal's rate limit is spent; `Retry-After` says when to come back. */
  IG_ERR_RATE_LIMITED: { http: 429, grpc: GrpcStatus.RESOURCE_EXHAUSTED },
  /** Anything unexpected; the message is generic, the cause is logged. */
  IG_ERR_INTERNAL: { http: 500, grpc: GrpcStatus.INTERNAL },
} as const satisfies Record<string, ErrorDef>;

export type ErrorCode = keyof typeof ERRORS;

/** A client-facing error with a stable code; `cause` keeps the internal reason. */
export class InferError extends Error {
  readonly code: ErrorCode;
  /** Extra response headers (e.g. Retry-After) the protocol layer should send. */
  readonly headers: Record<string, string> | undefined;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown; headers?: Record<string, string> }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'InferError';
    this.code = code;
    this.headers = options?.headers;
  }

  get httpStatus(): number {
    return ERRORS[this.code].http;
  }

  get grpcStatus(): number {
    return ERRORS[this.code].grpc;
  }
}

/** The same error with extra response headers (the registry's errors are immutable). */
export function withHeaders(err: InferError, headers: Record<string, string>): InferError {
  return new InferError(err.code, err.message, { cause: err.cause, headers: { ...err.headers, ...headers } });
}

/** Turns anything thrown into an InferError without leaking internals. */
export function toInferError(err: unknown): InferError {
  if (err instanceof InferError) return err;
  return new InferError('IG_ERR_INTERNAL', 'internal error', { cause: err });
}

/** Shorthand for the most common case. */
export function invalidArg(message: string, cause?: unknown): InferError {
  return new InferError('IG_ERR_INVALID_ARG', message, { cause });
}

/** Triton's texts for unknown models and versions (clients match on the prefix). */
export const notFound = {
  model: (m: string) => new InferError('IG_ERR_MODEL_NOT_FOUND', `Request for unknown model: '${m}' is not found`),
  version: (m: string, v: string | number) =>
    new InferError('IG_ERR_MODEL_NOT_FOUND', `Request for unknown model: '${m}' version ${v} is not found`),
  noVersions: (m: string) =>
    new InferError('IG_ERR_MODEL_NOT_FOUND', `Request for unknown model: '${m}' has no available versions`),
  notReady: (m: string, v: string | number) =>
    new InferError('IG_ERR_MODEL_NOT_READY', `'${m}' version ${v} is not at ready state`),
};

/** The answer to a call whose deadline passed before its model ran (it never starts executing). */
export function deadlineExceeded(): InferError {
  return new InferError('IG_ERR_DEADLINE_EXCEEDED', 'request deadline exceeded before the model ran');
}
