/** Plain data shapes passed between the fastify adapter and the endpoint handlers. */
import type { IncomingHttpHeaders } from 'node:http';
import type { RequestSpan, Tracing } from '../../observability/tracing.js';
import type { Gatekeeper } from '../../auth/types.js';
import type { Principal, ResponseWritten } from '../../core/index.js';
import type { RegistryAdmin } from '../../registry/api.js';
import type { RolloutAdmin, TrafficAdmin } from '../../rollout/api.js';
import type { AdminService, InferenceService } from '../../router/types.js';
import type { SystemSharedMemory } from '../common/shm-regions.js';
import type { InferDecodeLimits } from './infer-codec-request.js';
import type { RouteMatch } from './routes.js';

/** One HTTP request as handlers see it: no framework types. */
export interface HttpRequestData {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  /** Decoded (decompressed) body; undefined when the request had none. */
  body: Buffer | undefined;
  /**
   * Set when the server read an infer body split at Inference-Header-Content-Length (body-split.ts):
   * the binary section, in a buffer of its own; `body` then holds only the JSON header.
   */
  binary?: Uint8Array;
  /** The route when the server already matched it (for the body reader); else dispatch matches. */
  match?: RouteMatch;
  /** Who is calling (authenticated before the body was read); ANONYMOUS on open routes. */
  principal: Principal;
  /** Aborted when the client goes away before the response was sent. */
  signal: AbortSignal;
  /** Date.now() when the request's body was read: the base of its relative timeout. */
  receivedAt: number;
  /** Fires once the response has been written (or the connection closed). */
  written: ResponseWritten;
  /** The request's span when tracing sampled it (set by infer-traced.ts). */
  trace?: RequestSpan;
}

/** What a handler answers; an empty body is sent when `body` is undefined. */
export interface HttpResult {
  status: number;
  body?: string | Buffer;
  headers?: Record<string, string | number>;
}

/** What handlers need from the server. */
export interface HandlerDeps {
  inference: InferenceService;
  admin: AdminService;
  limits: InferDecodeLimits;
  /** Tracing and the trace settings endpoints; absent = static trace settings, nothing traced. */
  tracing?: Tracing;
  /** The model registry's admin API; absent when no registry is configured (its routes answer 501). */
  registry?: RegistryAdmin;
  /** What serving resolved from the registry (registry control mode), for GET /v2/registry. */
  registryServing?: () => unknown;
  /** Version segments may be alias names (registry control mode). */
  versionAliases?: boolean;
  /** Rollouts and manual traffic splits (registry control mode; absent: their routes answer 501). */
  rollouts?: RolloutAdmin;
  traffic?: TrafficAdmin;
  /** Authentication and authorization (auth/). */
  auth: Gatekeeper;
  /** Erasure of a subject's payload-log records (privacy/); absent when payload logging is off. */
  privacy?: PayloadEraser;
  /** The system shared-memory regions (one table with gRPC's). */
  sharedMemory: SystemSharedMemory;
}

/** Removes every logged record of `subject`, audited as done by `actor`; resolves to the count. */
export interface PayloadEraser {
  erase(subject: string, actor: string): Promise<number>;
}

/** An endpoint handler; throws InferError for client-facing failures. */
export type Handler = (deps: HandlerDeps, match: RouteMatch, req: HttpRequestData) => HttpResult | Promise<HttpResult>;

/** A JSON 200 (or other status) result. */
export function jsonResult(body: string, status = 200): HttpResult {
  return { status, body, headers: { 'content-type': 'application/json' } };
}
