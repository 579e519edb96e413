/**
 * The gRPC entry point: a grpc-js Server carrying inference.GRPCInferenceService and
 * grpc.health.v1.Health, with Triton's message limits and bounded HTTP/2 resources.
 */
import { type ChannelOptions, Server, ServerCredentials, status } from '@grpc/grpc-js';
import {
  GRPCInferenceService,
  ModelInferRequestSchema,
  ModelInferResponseSchema,
  ModelStreamInferResponseSchema,
} from '../../gen/grpc_service_pb.js';
import { Health } from '../../gen/health_pb.js';
import type { Logger } from '../../observability/logger.js';
import type { Tracing } from '../../observability/tracing.js';
import { DefaultGatekeeper } from '../../auth/gatekeeper.js';
import type { Gatekeeper } from '../../auth/types.js';
import { callGuard, methodModel, methodScope, peerAddress } from './auth.js';
import type { AdminCallEvent } from '../http/server.js';
import type { Services } from '../../router/types.js';
import type { UnexpectedErrorHook } from './errors.js';
import { DEFAULT_MAX_BYTES_ELEMENTS, SystemSharedMemory } from '../common/index.js';
import { inferenceHandlers } from './handlers.js';
import { healthHandlers } from './health.js';
import { encodeModelInferResponse, encodeModelStreamInferResponse } from './fast-encode.js';
import { inferRequestOverLimits } from './infer-guard.js';
import {
  bindService,
  type CallFinished,
  type FastEncoders,
  serviceDefinition,
  type WireGuards,
} from './service-definition.js';

export interface GrpcServerOptions {
  /**
   * Max receive and send message size (default 64 MiB, the HTTP body limit). grpc-js refuses a
   * larger message from its 5-byte length prefix, before buffering it, with RESOURCE_EXHAUSTED
   * "Received message larger than max (N vs LIMIT)". Triton's INT32_MAX let one 400 MiB request
   * cost 2.8 GB here.
   */
  maxMessageBytes?: number;
  /** HTTP/2 streams per connection (Node's default is effectively unlimited). */
  maxConcurrentStreams?: number;
  /** Server keepalive ping interval and ack timeout, to find dead peers. */
  keepaliveTimeMs?: number;
  keepaliveTimeoutMs?: number;
  /** Close connections after this age (rebalancing, cert rotation); unset = never. */
  maxConnectionAgeMs?: number;
  maxConnectionAgeGraceMs?: number;
  /** How long close() lets in-flight calls finish before cutting them. */
  shutdownGraceMs?: number;
  /** Requests of one ModelStreamInfer stream in flight before the server stops reading it. */
  maxStreamInFlight?: number;
  credentials?: ServerCredentials;
  /** Called with errors that were not InferErrors (bugs); clients only see "internal error". */
  onUnexpectedError?: UnexpectedErrorHook;
  /** Where unexpected errors are logged when no onUnexpectedError is given. */
  logger?: Logger;
  /** Request tracing (absent: nothing traced). */
  tracing?: Tracing;
  /** BYTES elements one input may carry (default tensor-wire.ts DEFAULT_MAX_BYTES_ELEMENTS). */
  maxBytesElements?: number;
  /** Who may call what (auth/); absent: the auth-off behaviour (control surface for loopback peers only). */
  auth?: Gatekeeper;
  /** Each finished administrative rpc, for the audit trail. */
  onAdmin?: (e: AdminCallEvent) => void;
  /** The system shared-memory regions, one table with HTTP's (default: a table of its own). */
  sharedMemory?: SystemSharedMemory;
}

export interface GrpcServer {
  /** Binds and starts serving; resolves to the bound port (useful with port 0). */
  listen(port: number, host?: string): Promise<number>;
  /**
   * Drain start (the gRPC side of HTTP's `Connection: close`): a GOAWAY on every open connection,
   * so clients finish the calls they have and open their next one elsewhere (once readiness took
   * this replica out), while the listener keeps accepting. close() still bounds what follows.
   */
  drain(): void;
  /** Graceful stop: refuse new calls, let in-flight ones finish, force after the grace period. */
  close(): Promise<void>;
}

/** drain() never cuts a connection itself (close() does, after its grace); grpc-js wants a time. */
const DRAIN_NO_CUT_MS = 2 ** 31 - 1;

const DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024 * 1024;

const HOT_PATH_ENCODERS: FastEncoders = new Map<string, (message: never) => Uint8Array>([
  [ModelInferResponseSchema.typeName, encodeModelInferResponse],
  [ModelStreamInferResponseSchema.typeName, encodeModelStreamInferResponse],
]);

function channelOptions(o: GrpcServerOptions): ChannelOptions {
  const max = o.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
  const opts: ChannelOptions = {
    'grpc.max_receive_message_length': max,
    'grpc.max_send_message_length': max,
    'grpc.max_concurrent_streams': o.maxConcurrentStreams ?? 100,
    'grpc.keepalive_time_ms': o.keepaliveTimeMs ?? 60_000,
    'grpc.keepalive_timeout_ms': o.keepaliveTimeoutMs ?? 20_000,
  };
  if (o.maxConnectionAgeMs !== undefined) opts['grpc.max_connection_age_ms'] = o.maxConnectionAgeMs;
  if (o.maxConnectionAgeGraceMs !== undefined) opts['grpc.max_connection_age_grace_ms'] = o.maxConnectionAgeGraceMs;
  return opts;
}

/** Reports finished administrative rpcs (status by its gRPC name). */
function adminReporter(onAdmin: (e: AdminCallEvent) => void): CallFinished {
  return (method, principal, call, code) => {
    if (methodScope(method) !== 'admin') return;
    onAdmin({
      actor: principal.id,
      route: `grpc ${method.name}`,
      model: methodModel(method, call.request),
      remoteAddress: peerAddress(call.getPeer()),
      outcome: status[code] ?? String(code),
    });
  };
}

/** Creates the gRPC server over the inference and admin services; nothing is bound until listen(). */
export function createGrpcServer(services: Services, options: GrpcServerOptions = {}): GrpcServer {
  const server = new Server(channelOptions(options));
  const logger = options.logger;
  const hook: UnexpectedErrorHook | undefined =
    options.onUnexpectedError ??
    (logger && ((err, rpc) => logger.error({ err, rpc }, 'unexpected error in gRPC handler')));
  const maxBytesElements = options.maxBytesElements ?? DEFAULT_MAX_BYTES_ELEMENTS;
  const gatekeeper = options.auth ?? new DefaultGatekeeper({ mode: 'off' });
  const guard = callGuard(gatekeeper);
  const impl = inferenceHandlers(
    services,
    options.sharedMemory ?? new SystemSharedMemory(),
    gatekeeper,
    { maxInFlight: options.maxStreamInFlight ?? 128, onUnexpectedError: hook },
    options.tracing,
    { maxBytesElements },
  );
  const guards: WireGuards = new Map([
    [ModelInferRequestSchema.typeName, (bytes: Uint8Array) => inferRequestOverLimits(bytes, maxBytesElements)],
  ]);
  server.addService(
    serviceDefinition(GRPCInferenceService, HOT_PATH_ENCODERS, guards),
    bindService(GRPCInferenceService, impl, hook, guard, options.onAdmin && adminReporter(options.onAdmin)),
  );
  server.addService(serviceDefinition(Health), bindService(Health, healthHandlers(services.inference), hook, guard));
  const grace = options.shutdownGraceMs ?? 5_000;
  const addressOf = (host: string, port: number) => (host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`);
  let bound: string | undefined;

  return {
    listen(port, host = '127.0.0.1') {
      const creds = options.credentials ?? ServerCredentials.createInsecure();
      return new Promise((resolve, reject) => {
        server.bindAsync(addressOf(host, port), creds, (err, p) => {
          if (err) return reject(err);
          bound = addressOf(host, p);
          resolve(p);
        });
      });
    },
    drain() {
      if (bound !== undefined) server.drain(bound, DRAIN_NO_CUT_MS);
    },
    close() {
      return new Promise((resolve) => {
        const timer = setTimeout(() => server.forceShutdown(), grace);
        timer.unref();
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    },
  };
}
