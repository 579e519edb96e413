/**
 * The KServe v2 REST server: a thin fastify adapter. fastify reads the body (through our own
 * size- and decompression-limited reader) and hands plain data to dispatch(); everything about
 * the protocol lives in the pure modules beside this one.
 */
import type { AddressInfo } from 'node:net';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { ServerOptions as HttpsServerOptions } from 'node:https';
import type { TLSSocket } from 'node:tls';
import type { Gatekeeper } from '../../auth/types.js';
import { ANONYMOUS, InferError, type Principal, withHeaders } from '../../core/index.js';
import { nodeServerTimeouts } from '../../observability/listener-timeouts.js';
import type { Logger } from '../../observability/logger.js';
import type { Tracing } from '../../observability/tracing.js';
import type { RegistryAdmin } from '../../registry/api.js';
import type { RolloutAdmin, TrafficAdmin } from '../../rollout/api.js';
import type { Services } from '../../router/types.js';
import { readSplitBody, type SplitBody, splitPoint } from './body-split.js';
import { jsonTooLarge, readBody } from './compression.js';
import { HEADER_LENGTH } from './binary.js';
import { DEFAULT_MAX_BYTES_ELEMENTS, SystemSharedMemory } from '../common/index.js';
import { dispatch } from './dispatch.js';
import { answerClientError, frameworkError } from './client-errors.js';
import { checkMediaType } from './media-type.js';
import { PipelineLimiter } from './pipelining.js';
import { DefaultGatekeeper } from '../../auth/gatekeeper.js';
import { routeScope } from './route-scopes.js';
import { matchRoute, type RouteMatch } from './routes.js';
import { toHttpError } from './errors.js';
import type { HandlerDeps, HttpRequestData, HttpResult, PayloadEraser } from './types.js';

/** Options of {@link createHttpServer}. */
export interface HttpServerOptions {
  /** Body limit in bytes, applied to the wire size and to the decompressed size (default 64 MiB). */
  maxBodyBytes?: number;
  /** Deepest JSON nesting accepted in any body (default 100, Triton's limit). */
  maxJsonDepth?: number;
  /** JSON `data` values one infer request may carry across its inputs (default 16 Mi). */
  maxJsonElements?: number;
  /**
   * Bytes of JSON one infer request may carry, as its whole body or as a binary request's JSON
   * header (default 4 MiB); larger tensors go in the binary extension.
   */
  maxJsonBytes?: number;
  /** Elements the JSON outputs of one infer response may carry (default 1 Mi); binary is unbounded. */
  maxJsonResponseElements?: number;
  /** BYTES elements one input may carry (default common/tensor-wire.ts DEFAULT_MAX_BYTES_ELEMENTS). */
  maxBytesElements?: number;
  /** Requests one connection may have in progress (pipelining); the rest wait (default 8). */
  maxPipelinedRequests?: number;
  /** Time allowed to receive the request headers (default 10 s; Node's 60 s invites slowloris). */
  headersTimeoutMs?: number;
  /** Time allowed to receive the whole request, body included (default 30 s; 64 MiB then needs ~2.2 MB/s). */
  requestTimeoutMs?: number;
  /** Idle keep-alive time before the server closes a connection (default 5 s). */
  keepAliveTimeoutMs?: number;
  /** Where errors that became 5xx are logged (with their cause); never shown to clients. */
  logger?: Pick<Logger, 'error'>;
  /** Also sees every error that became a 5xx (tests, metrics). */
  onError?: (err: unknown) => void;
  /** Request tracing and the trace settings endpoints (absent: static settings, nothing traced). */
  tracing?: Tracing;
  /** The model registry's admin API (absent: its routes answer 501 naming the flag). */
  registry?: RegistryAdmin;
  /** What serving resolved from the registry, shown by GET /v2/registry. */
  registryServing?: () => unknown;
  /** Accept alias names where a version goes in a path (registry control mode). */
  versionAliases?: boolean;
  /** Rollouts and manual traffic splits (registry control mode; absent: their routes answer 501). */
  rollouts?: RolloutAdmin;
  traffic?: TrafficAdmin;
  /**
   * Who may call what (auth/). Absent: every caller may infer and read, and only loopback callers
   * reach the control surface (the auth-off behaviour, as in tests of other modules).
   */
  auth?: Gatekeeper;
  /** Each finished call of an `admin`-scope route, for the audit trail. */
  onAdmin?: (e: AdminCallEvent) => void;
  /** TLS (protocol/common/tls.ts httpsOptions): serve HTTPS instead of HTTP. */
  https?: HttpsServerOptions;
  /** POST /v2/privacy/erase (absent: it answers 501 naming the flag). */
  privacy?: PayloadEraser;
  /** The system shared-memory regions, one table with gRPC's (default: a table of its own). */
  sharedMemory?: SystemSharedMemory;
}

/** A finished administrative call. */
export interface AdminCallEvent {
  actor: string;
  route: string;
  model?: string;
  remoteAddress?: string;
  outcome: string;
}

/** A created server: listen, close, and the fastify instance for inject() in tests. */
export interface HttpServer {
  readonly fastify: FastifyInstance;
  /** Starts listening; resolves to the actual port (pass 0 for an ephemeral one). */
  listen(port: number, host?: string): Promise<number>;
  /** Keeps serving, but every response now closes its connection (shutdown's drain period). */
  drain(): void;
  /** Stops accepting, answers new requests on open connections with 503, waits for in-flight ones. */
  close(): Promise<void>;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The route, matched once when the body parser needed it (routes.ts), reused by dispatch. */
    igRoute?: RouteMatch;
    /** Who is calling, decided before the body is read (auth/). */
    igPrincipal?: Principal;
  }
}

/** Creates the KServe v2 REST server over the inference and admin services. */
export function createHttpServer(services: Services, options: HttpServerOptions = {}): HttpServer {
  const maxBodyBytes = options.maxBodyBytes ?? 64 * 1024 * 1024;
  const maxJsonBytes = Math.min(options.maxJsonBytes ?? 4 * 1024 * 1024, maxBodyBytes);
  const deps: HandlerDeps = {
    inference: services.inference,
    admin: services.admin,
    limits: {
      maxJsonDepth: options.maxJsonDepth ?? 100,
      maxJsonElements: options.maxJsonElements ?? 16 * 1024 * 1024,
      maxBytesElements: options.maxBytesElements ?? DEFAULT_MAX_BYTES_ELEMENTS,
      maxJsonBytes,
      maxJsonResponseElements: options.maxJsonResponseElements ?? 1024 * 1024,
    },
    tracing: options.tracing,
    registry: options.registry,
    registryServing: options.registryServing,
    versionAliases: options.versionAliases === true,
    rollouts: options.rollouts,
    traffic: options.traffic,
    auth: options.auth ?? localOnly,
    privacy: options.privacy,
    sharedMemory: options.sharedMemory ?? new SystemSharedMemory(),
  };
  // Header, request and idle timeouts with the sweep interval that enforces them on time
  // (observability/listener-timeouts.ts). `http` is what fastify hands to http.createServer, the only
  // place Node takes connectionsCheckingInterval; fastify then sets requestTimeout and
  // keepAliveTimeout itself from its own options, so those repeat the same values.
  const timeouts = nodeServerTimeouts(options);
  const app = Fastify({
    ...(options.https ? { https: options.https } : {}),
    logger: false,
    bodyLimit: maxBodyBytes,
    requestTimeout: timeouts.requestTimeout,
    keepAliveTimeout: timeouts.keepAliveTimeout,
    http: timeouts,
    return503OnClosing: false,
    forceCloseConnections: 'idle',
    clientErrorHandler: answerClientError,
    frameworkErrors: (err, _request, reply) => {
      send(reply, errorResult(frameworkError(err), undefined));
    },
  });
  const onError = (err: unknown) => {
    options.logger?.error({ err }, 'HTTP request failed with a server error');
    options.onError?.(err);
  };
  let closing = false;
  let draining = false;
  app.removeAllContentTypeParsers();
  app.decorateRequest('igRoute', undefined);
  app.decorateRequest('igPrincipal', undefined);
  // Credentials are checked from the headers, before a byte of the body is read: a refused
  // caller costs no body buffering (and, with a body pending, its connection is closed).
  app.addHook('onRequest', async (request, reply) => {
    let route: RouteMatch;
    try {
      route = matchRoute(request.method, request.raw.url ?? request.url, deps.versionAliases);
    } catch {
      return; // 404/405: answered by the body reader or the handler, as before
    }
    request.igRoute = route;
    const scope = routeScope(route.name, request.method);
    if (scope === 'open') return;
    try {
      const socket = request.raw.socket as TLSSocket;
      const principal = await deps.auth.authenticate({
        headers: request.headers,
        remoteAddress: socket.remoteAddress,
        peerCertificate: socket.authorized ? peerCertificate(socket) : undefined,
      });
      // Inference is authorized by the router (one place for every protocol).
      if (scope !== 'infer') deps.auth.authorize(principal, scope, route.params.model);
      request.igPrincipal = principal;
    } catch (err) {
      const h = request.headers;
      const body = h['transfer-encoding'] !== undefined || (h['content-length'] ?? '0') !== '0';
      return send(reply, errorResult(body ? closingConnection(err) : err, undefined));
    }
  });
  app.addContentTypeParser('*', (request, payload, done) => {
    const h = request.headers;
    try {
      request.igRoute ??= matchRoute(request.method, request.raw.url ?? request.url, deps.versionAliases);
    } catch (err) {
      // No route takes this body (404/405): answer without reading a byte of it. The unread body
      // cannot be skipped on a keep-alive connection, so the answer closes it.
      done(closingConnection(err), undefined);
      return;
    }
    try {
      checkMediaType(h['content-type']);
    } catch (err) {
      done(err as Error, undefined);
      return;
    }
    const split = splitPoint(request.igRoute.name, h);
    // A JSON infer body has the JSON limit; a binary one's JSON header is checked as early as its size is known.
    const json = request.igRoute.name === 'infer' && h[HEADER_LENGTH] === undefined && maxJsonBytes < maxBodyBytes;
    if (split !== undefined && split.header > maxJsonBytes) {
      done(jsonTooLarge(maxJsonBytes), undefined);
      return;
    }
    const body: Promise<Buffer | SplitBody> =
      split !== undefined && split.total <= maxBodyBytes
        ? readSplitBody(payload, split.total, split.header)
        : readBody(payload, h['content-encoding'], h['content-length'], json ? maxJsonBytes : maxBodyBytes).catch(
            (err: unknown) => {
              throw json && err instanceof InferError && err.code === 'IG_ERR_PAYLOAD_TOO_LARGE'
                ? jsonTooLarge(maxJsonBytes)
                : err;
            },
          );
    body.then(
      (body) => done(null, body),
      (err: Error) => done(err, undefined),
    );
  });
  app.setErrorHandler((err, _request, reply) => send(reply, errorResult(err, onError)));
  const pipeline = new PipelineLimiter(options.maxPipelinedRequests ?? 8);
  const handle = async (request: FastifyRequest, reply: FastifyReply) => {
    if (closing) return send(reply, errorResult(shuttingDown(), undefined));
    const socket = request.raw.socket;
    const wait = pipeline.acquire(socket);
    if (wait) await wait;
    let result: HttpResult;
    try {
      result = await dispatch(deps, toRequestData(request, reply), onError);
    } finally {
      pipeline.release(socket);
    }
    const route = request.igRoute;
    if (options.onAdmin && route && routeScope(route.name, request.method) === 'admin')
      options.onAdmin({
        actor: request.igPrincipal?.id ?? 'anonymous',
        route: `${request.method} ${(request.raw.url ?? '').split('?')[0]?.slice(0, 256)}`,
        model: route.params.model,
        remoteAddress: socket.remoteAddress,
        outcome: String(result.status),
      });
    // Draining: end keep-alive connections as their last response goes out, so clients reconnect
    // elsewhere without a reset and close() returns.
    if (draining || closing) reply.header('connection', 'close');
    return send(reply, result);
  };
  app.all('/*', handle);
  app.setNotFoundHandler(handle);
  return {
    fastify: app,
    async listen(port, host = '127.0.0.1') {
      await app.listen({ port, host });
      return (app.server.address() as AddressInfo).port;
    },
    drain() {
      draining = true;
    },
    async close() {
      closing = true;
      await app.close();
    },
  };
}

/** The auth-off gatekeeper when none is given: open inference and reads, control surface on loopback. */
const localOnly = new DefaultGatekeeper({ mode: 'off' });

function peerCertificate(socket: TLSSocket) {
  const c = socket.getPeerCertificate?.();
  return c && Object.keys(c).length > 0 ? c : undefined;
}

function toRequestData(request: FastifyRequest, reply: FastifyReply): HttpRequestData {
  const controller = new AbortController();
  const res = reply.raw;
  // 'close' on the response before it finished = the client went away: let the scheduler drop it.
  res.once('close', () => {
    if (!res.writableFinished) controller.abort();
  });
  return {
    method: request.method,
    url: request.raw.url ?? request.url,
    headers: request.headers,
    ...requestBody(request.body),
    match: request.igRoute,
    principal: request.igPrincipal ?? ANONYMOUS,
    signal: controller.signal,
    receivedAt: Date.now(),
    // 'close' follows the last write (or a disconnect): `answered` hooks run after the bytes left.
    written: { onWritten: (fn) => res.once('close', fn) },
  };
}

function requestBody(body: unknown): Pick<HttpRequestData, 'body' | 'binary'> {
  if (Buffer.isBuffer(body)) return { body };
  const split = body as SplitBody | undefined;
  return split?.binary instanceof Uint8Array ? { body: split.json, binary: split.binary } : { body: undefined };
}

function send(reply: FastifyReply, result: HttpResult): FastifyReply {
  reply.code(result.status);
  if (result.headers !== undefined) reply.headers(result.headers);
  return result.body === undefined ? reply.send() : reply.send(result.body);
}

function errorResult(err: unknown, onError: ((err: unknown) => void) | undefined): HttpResult {
  const e = toHttpError(err, onError);
  return { status: e.status, body: e.body, headers: e.headers };
}

/** The same error, answered with `Connection: close`. */
function closingConnection(err: unknown): Error {
  if (!(err instanceof InferError)) return err instanceof Error ? err : new Error(String(err));
  return withHeaders(err, { connection: 'close' });
}

function shuttingDown(): InferError {
  return new InferError('IG_ERR_UNAVAILABLE', 'server is shutting down', { headers: { connection: 'close' } });
}
