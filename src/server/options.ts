import { z } from 'zod';

/** Server settings after defaults, from CLI flags (and later a config file). */
export const ServerOptionsSchema = z.object({
  repository: z.string().min(1),
  host: z.string().default('127.0.0.1'),
  httpPort: z.number().int().min(0).max(65535).default(8000),
  grpcPort: z.number().int().min(0).max(65535).default(8001),
  /** -1 disables the protocol. */
  enableHttp: z.boolean().default(true),
  enableGrpc: z.boolean().default(true),
  /** Prometheus `GET /metrics` on its own port (Triton's 8002; 0 = ephemeral). */
  metricsPort: z.number().int().min(0).max(65535).default(8002),
  enableMetrics: z.boolean().default(true),
  controlMode: z.enum(['none', 'explicit', 'poll', 'registry']).default('none'),
  loadModels: z.array(z.string()).default([]),
  pollSeconds: z.number().positive().default(15),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  logFormat: z.enum(['json', 'pretty']).default('json'),
  serverName: z.string().default('infergate'),
  maxBodyBytes: z
    .number()
    .int()
    .positive()
    .default(64 * 1024 * 1024),
  /** Bytes of JSON one infer request may carry (whole body, or a binary request's JSON header). */
  maxJsonBytes: z
    .number()
    .int()
    .positive()
    .default(4 * 1024 * 1024),
  /** BYTES elements one input may carry (each costs an object on the event loop). */
  maxBytesElements: z.number().int().positive().default(65_536),
  /**
   * After SIGTERM, how long the server keeps serving with readiness false (load balancers need
   * time to notice) before it stops accepting connections.
   */
  drainSeconds: z.number().nonnegative().default(5),
  /** Triton's --strict-readiness: ready only while every model that should be served is serving. */
  strictReadiness: z.boolean().default(true),
  /** After the drain, how long in-flight requests may take; then queued ones get a retryable 503. */
  exitTimeoutSeconds: z.number().nonnegative().default(30),
  /**
   * The model registry: a directory (embedded SQLite + artifacts) or a postgres:// URL. Enables
   * the registry admin API; registry control mode defaults it to `<repository>.registry`.
   */
  registry: z.string().min(1).optional(),
  /** Artifact directory (required with PostgreSQL; default `<registry>/artifacts`). */
  registryArtifacts: z.string().min(1).optional(),
  /** Registry control mode: how often the store's revision is polled (PostgreSQL also notifies). */
  registryPollSeconds: z.number().positive().default(1),
  /** Registry control mode: the alias a call without a version goes to. */
  registryDefaultAlias: z.string().default('production'),
  /** Aliases that only move to a validated version (or with force). */
  registryProtectedAliases: z.array(z.string()).default(['production']),
  /** Hosts (`host` or `host:port`, `*.domain`) the admin API may fetch sources from. */
  registryFetchAllow: z.array(z.string()).default([]),
  /** Also plain http:// to those hosts (tests, private mirrors). */
  registryFetchAllowHttp: z.boolean().default(false),
});

export type ServerOptions = z.infer<typeof ServerOptionsSchema>;
export type ServerOptionsInput = z.input<typeof ServerOptionsSchema>;
