/**
 * The connection timeouts every HTTP/1 listener applies: the KServe REST port (protocol/http) and
 * the metrics port (metrics-server.ts). It lives here, not in protocol/, because observability
 * may import nothing but core, and both listeners must agree on one set of defaults.
 *
 * Why a checking interval of our own: Node enforces `headersTimeout` and `requestTimeout` only when
 * its connection sweep runs, every `connectionsCheckingInterval` (default 30 s). With that default a
 * 10 s header timeout closes a slowloris socket anywhere up to ~40 s. The interval can only be given
 * to `http.createServer`, so these values are meant to be passed there as server options.
 */
import type { ServerOptions } from 'node:http';

/** Timeouts of one listener, in milliseconds; 0 disables one (Node's meaning). */
export interface ListenerTimeouts {
  /** Time allowed to receive the request headers (default 10 s; Node's 60 s invites slowloris). */
  headersTimeoutMs?: number;
  /** Time allowed to receive the whole request, body included, from its first byte (default 30 s). */
  requestTimeoutMs?: number;
  /** Idle keep-alive time between requests before the server closes a connection (default 5 s). */
  keepAliveTimeoutMs?: number;
}

/** The defaults of {@link ListenerTimeouts}. */
export const LISTENER_TIMEOUT_DEFAULTS = {
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 5_000,
} as const satisfies Required<ListenerTimeouts>;

/** The `http.createServer` options that enforce a listener's timeouts. */
export type NodeServerTimeouts = Required<
  Pick<ServerOptions, 'headersTimeout' | 'requestTimeout' | 'keepAliveTimeout' | 'connectionsCheckingInterval'>
>;

/** Longest sweep interval: a timeout fires at most this late (S6 asks ±1 s at 10 s and 30 s). */
const MAX_CHECK_MS = 500;
/** Shortest sweep interval, for the tiny timeouts tests configure. */
const MIN_CHECK_MS = 10;

/** Defaults applied, header timeout clamped to the request timeout, and a sweep that keeps up. */
export function nodeServerTimeouts(t: ListenerTimeouts = {}): NodeServerTimeouts {
  const requestTimeout = t.requestTimeoutMs ?? LISTENER_TIMEOUT_DEFAULTS.requestTimeoutMs;
  const headers = t.headersTimeoutMs ?? LISTENER_TIMEOUT_DEFAULTS.headersTimeoutMs;
  // Node refuses headersTimeout > requestTimeout when both are set; the headers are part of the request.
  const headersTimeout = requestTimeout > 0 && headers > 0 ? Math.min(headers, requestTimeout) : headers;
  // The sweep runs 20 times per shortest timeout, so each fires within 5 % of its value (capped at
  // MAX_CHECK_MS); one sweep walks only the connections that are mid-request, in C++.
  const shortest = Math.min(...[headersTimeout, requestTimeout].filter((ms) => ms > 0), MAX_CHECK_MS * 20);
  return {
    headersTimeout,
    requestTimeout,
    keepAliveTimeout: t.keepAliveTimeoutMs ?? LISTENER_TIMEOUT_DEFAULTS.keepAliveTimeoutMs,
    connectionsCheckingInterval: Math.max(MIN_CHECK_MS, Math.min(MAX_CHECK_MS, Math.floor(shortest / 20))),
  };
}
