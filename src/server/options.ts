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
  controlMode: z.enum(['none', 'explicit', 'poll']).default('none'),
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
});

export type ServerOptions = z.infer<typeof ServerOptionsSchema>;
export type ServerOptionsInput = z.input<typeof ServerOptionsSchema>;
