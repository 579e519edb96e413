/**
 * The call context: who is calling, until when, on which protocol, under which trace. Built once
 * by the transport that received the call (protocol/http, protocol/grpc) and handed to
 * `InferenceService.infer(request, ctx)` beside the decoded request, which is never mutated after
 * decoding. Read-only for every stage of the request pipeline.
 */
import type { RequestTrace } from './request.js';

/** Who is calling. Only the anonymous principal exists until authentication lands. */
export interface Principal {
  /** Stable identifier for logs, limits and audit (a key id, a JWT subject, …). */
  readonly id: string;
  readonly kind: 'anonymous';
  /** What the principal may do (e.g. 'infer', 'admin'); anonymous has none yet. */
  readonly scopes: readonly string[];
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

/** The principal of every call while no authentication is configured. */
export const ANONYMOUS: Principal = Object.freeze({ id: 'anonymous', kind: 'anonymous', scopes: Object.freeze([]) });

/** The wire a call arrived on. */
export type Protocol = 'http' | 'grpc';

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
  };
}
