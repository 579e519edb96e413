/**
 * The call context: who is calling, until when, on which protocol, under which trace. Built once
 * by the transport that received the call (protocol/http, protocol/grpc) and handed to
 * `InferenceService.infer(request, ctx)` beside the decoded request, which is never mutated after
 * decoding. Read-only for every stage of the request pipeline.
 */
import type { InferRequest, InferResponse, RequestTrace } from './request.js';

/** What a principal may do: infer; read metadata, config and statistics; administer (auth/). */
export type Scope = 'infer' | 'read' | 'admin';

/** Who is calling: built by the transport from credentials (auth/), never from the request body. */
export interface Principal {
  /** Stable identifier for logs, limits and audit: `key:<prefix>`, `jwt:<sub>`, `mtls:<CN>`, `anonymous`. */
  readonly id: string;
  readonly kind: 'anonymous' | 'api-key' | 'jwt' | 'mtls';
  /** What the principal may do. */
  readonly scopes: readonly Scope[];
  /** The tenant it belongs to: it sees only that tenant's models (auth config). */
  readonly tenant?: string;
  /** Model name globs it may see (absent: every model its tenant may). */
  readonly models?: readonly string[];
  /** Requests per second and burst for this principal, when its credential says (else the default). */
  readonly rateLimit?: { readonly rate: number; readonly burst: number };
}

/**
 * The response header (HTTP) and trailer (gRPC) naming a call's request id, on its answer and on
 * its error: the key to the server's log lines about the call.
 */
export const REQUEST_ID_HEADER = 'infergate-request-id';

/**
 * The request-id header for `id`, or none when the id (a client's, from the request body) is not
 * a short printable token: echoing arbitrary client text into a header invites header injection.
 */
export function requestIdHeader(id: string): Record<string, string> {
  return /^[\x21-\x7e]{1,128}$/.test(id) ? { [REQUEST_ID_HEADER]: id } : {};
}

/**
 * The header (HTTP) and metadata key (gRPC) naming the data subject a call concerns: the key for
 * payload logs and their erasure (privacy/).
 */
export const SUBJECT_HEADER = 'infergate-subject-id';

/**
 * The subject id in a header value, or none unless it is exactly one short printable token
 * (anything else is ignored, never echoed: it is client text bound for files and audit rows).
 */
export function subjectId(value: unknown): string | undefined {
  const v = Array.isArray(value) && value.length === 1 ? value[0] : value;
  return typeof v === 'string' && /^[\x21-\x7e]{1,128}$/.test(v) ? v : undefined;
}

/** A caller without credentials: nothing is allowed until the gatekeeper (auth/) says otherwise. */
export const ANONYMOUS: Principal = Object.freeze({
  id: 'anonymous',
  kind: 'anonymous',
  scopes: Object.freeze([]) as readonly Scope[],
});

/** The wire a call arrived on. */
export type Protocol = 'http' | 'grpc' | 'kafka';

/**
 * How a transport says that a call's response has been written to its connection, so that
 * `answered` hooks run after the bytes left (and never slow the response down).
 */
export interface ResponseWritten {
  /** Registers `fn` to run once the response is written (or the connection closed). */
  onWritten(fn: () => void): void;
}

/** Everything about a call that is not the request itself. */
export interface CallContext {
  /** The client's request id when it sent one, else one generated here (logs, traces). */
  readonly requestId: string;
  readonly protocol: Protocol;
  readonly principal: Principal;
  /** A request header (HTTP) or metadata entry (gRPC) by lower-case name: a sticky split's key. */
  readonly header?: (name: string) => string | undefined;
  /**
   * Absolute deadline in epoch ms (Date.now()), Infinity when none: from the gRPC deadline or
   * HTTP's `infergate-timeout-ms` header. A call past it is answered IG_ERR_DEADLINE_EXCEEDED and
   * never executes.
   */
  readonly deadline: number;
  /** Aborted when the client goes away or cancels; the request then never reaches a worker. */
  readonly signal?: AbortSignal;
  /** Present only when tracing sampled this call. */
  readonly trace?: RequestTrace;
  /** Present when the transport reports the write; without it `answered` runs as the call returns. */
  readonly written?: ResponseWritten;
  /** The data subject the call concerns (SUBJECT_HEADER), when the client named a valid one. */
  readonly subject?: string;
}

/** What a transport supplies; the rest is defaulted. */
export interface CallContextInit {
  protocol: Protocol;
  /** The client's request id ('' or undefined = none). */
  id?: string;
  principal?: Principal;
  deadline?: number;
  signal?: AbortSignal;
  trace?: RequestTrace;
  written?: ResponseWritten;
  /** Already checked with subjectId(). */
  subject?: string;
  header?: (name: string) => string | undefined;
}

// Generated ids: a per-process random prefix and a counter (cheap on the hot path, unique enough
// to find one call's log lines; never sent back to the client as if it were theirs).
const PREFIX = Math.floor(Math.random() * 0xffffffff)
  .toString(16)
  .padStart(8, '0');
let seq = 0;

/** A call context with defaults: anonymous, no deadline, a generated request id. */
export function callContext(init: CallContextInit): CallContext {
  return {
    requestId: init.id ? init.id : `${PREFIX}-${++seq}`,
    protocol: init.protocol,
    principal: init.principal ?? ANONYMOUS,
    deadline: init.deadline ?? Number.POSITIVE_INFINITY,
    signal: init.signal,
    trace: init.trace,
    written: init.written,
    subject: init.subject,
    header: init.header,
  };
}

/**
 * How a backend reaches other models of the same server (an ensemble's steps, the client a
 * TypeScript model is given). The composition root binds it to the router once that exists.
 * A step call goes through the whole request pipeline but the `admit` stage: the caller was
 * admitted already, so a step is neither authorised again nor counted against a rate limit.
 * Ownership as for InferenceService.infer: the request's input buffers may be transferred.
 */
export interface ModelCaller {
  infer(request: InferRequest, parent: CallContext): Promise<InferResponse>;
}
