/**
 * Errors that never reach a route, in the server's one `{"error": …}` shape instead of fastify's
 * own ({"error":"Bad Request","message":"Client Error","statusCode":400}, FST_ERR_BAD_URL echoing
 * the URL): malformed HTTP (Node's 'clientError': bad framing, oversized headers, timeouts) and
 * URLs fastify's router cannot decode.
 */
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import { InferError, invalidArg } from '../../core/index.js';

/** Answers a connection Node could not parse a request from, then closes it. */
export function answerClientError(err: NodeJS.ErrnoException, socket: Socket): void {
  // A reset connection has nobody to answer.
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, message] =
    err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? [408, 'the request was not received in time']
      : err.code === 'HPE_HEADER_OVERFLOW'
        ? [431, 'the request headers are too large']
        : [400, 'malformed HTTP request'];
  const body = JSON.stringify({ error: message });
  if (socket.writable)
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`,
    );
  socket.destroy();
}

/** The registry error for an error fastify raised before routing (its messages may echo input). */
export function frameworkError(err: { code?: string; statusCode?: number }): InferError {
  if (err.code === 'FST_ERR_BAD_URL') return invalidArg('malformed percent-encoding in the request path');
  return new InferError(err.statusCode === 404 ? 'IG_ERR_ROUTE_NOT_FOUND' : 'IG_ERR_INVALID_ARG', 'malformed request', {
    cause: err,
  });
}
