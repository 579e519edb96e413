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
  /**
   * The longest deadline a call may have, in ms from arrival (absent: none). A call asking for
   * longer is clamped (its response says `deadline_clamped_ms`); a call with none gets this one.
   */
  maxTimeoutMs: z.number().int().positive().optional(),
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
  /** How often the rollout controller looks at its rollouts (ms; tests shorten it). */
  rolloutTickMs: z.number().positive().default(1000),
  /** Registry control mode: the alias a call without a version goes to. */
  registryDefaultAlias: z.string().default('production'),
  /** Aliases that only move to a validated version (or with force). */
  registryProtectedAliases: z.array(z.string()).default(['production']),
  /** Hosts (`host` or `host:port`, `*.domain`) the admin API may fetch sources from. */
  registryFetchAllow: z.array(z.string()).default([]),
  /** Also plain http:// to those hosts (tests, private mirrors). */
  registryFetchAllowHttp: z.boolean().default(false),
  /** Every onnxruntime version must carry a manifest signed by a trusted key (supply/, S11). */
  requireSigned: z.boolean().optional(),
  /** PEM files of the Ed25519 public keys whose manifests are trusted. */
  trustedKeys: z.array(z.string().min(1)).optional(),
  /** File holding the base64 AES-256 key of encrypted models (else INFERGATE_MODEL_KEY). */
  modelKeyFile: z.string().min(1).optional(),
  /** Byte budget of the in-process response cache (models with response_cache); 0 = none. */
  cacheMemoryBytes: z
    .number()
    .int()
    .nonnegative()
    .default(64 * 1024 * 1024),
  /** The response cache's shared tier: a Redis (redis://…, else INFERGATE_CACHE_REDIS); absent: none. */
  cacheRedis: z.string().min(1).optional(),
  /** How long a cached response lives, in seconds. */
  cacheTtlSeconds: z.number().positive().default(300),
  /** Longest wait for one Redis cache operation before serving goes on without it (ms). */
  cacheRedisTimeoutMs: z.number().int().positive().default(50),
  /** The Redis feature store models read (redis://…, else INFERGATE_FEATURE_STORE_REDIS); a model's `redis_url` overrides it. */
  featureStoreRedis: z.string().min(1).optional(),
  /**
   * Bytes loaded model versions may hold together (docs/memory.md): idle, unpinned versions are
   * evicted least recently used first and loaded again by the next call. 0 = unlimited.
   */
  modelMemoryBudget: z.number().int().nonnegative().default(0),
  /**
   * Threads of the shared pool that hosts small models' sessions (docs/memory.md, dense hosting);
   * absent: one per core; 0: every instance gets a thread of its own.
   */
  sharedWorkers: z.number().int().nonnegative().optional(),
  /** Largest model file, bytes, placed on the shared pool unless its config's `worker_pool` says otherwise. */
  sharedWorkerMaxBytes: z
    .number()
    .int()
    .nonnegative()
    .default(4 * 2 ** 20),
});

/** Security options (auth/, audit/, protocol/common/tls.ts); see docs/security.md. */
export const SecurityOptionsSchema = z.object({
  /** off: local use (control surface for loopback callers only); required: credentials everywhere. Overrides the config file's mode. */
  auth: z.enum(['off', 'required']).optional(),
  /** The auth config file (YAML/JSON: API keys, JWT, mTLS identities, tenants, rate limits, audit). */
  authConfig: z.string().min(1).optional(),
  /** The API key file (`infergate auth key create`). */
  apiKeys: z.string().min(1).optional(),
  /** Hash-chained JSON-lines audit trail (else the registry's audit table, else the log). */
  auditLog: z.string().min(1).optional(),
  /** Triton's load API may carry model files (`file:` parameters): admin only, off by default. */
  allowLoadFiles: z.boolean().default(false),
  /** Requests per second and burst per principal for inference (absent: only principals with their own limit). */
  rateLimit: z.object({ rate: z.number().positive(), burst: z.number().int().positive() }).optional(),
  /** Share rate-limit buckets between replicas through this Redis (redis://…). */
  rateLimitRedis: z.string().min(1).optional(),
  /** TLS for HTTP and gRPC: certificate and key files, reloaded when they change. */
  tlsCert: z.string().min(1).optional(),
  tlsKey: z.string().min(1).optional(),
  /** CA for client certificates; with tlsRequireClientCert, mTLS. */
  tlsCa: z.string().min(1).optional(),
  tlsRequireClientCert: z.boolean().default(false),
  /** Payload logging (privacy/): without it nothing is logged, whatever a model's config asks. */
  payloadLogDir: z.string().min(1).optional(),
  /** Records waiting to be written before sampled calls are dropped (and counted) instead. */
  payloadLogMaxBacklog: z.number().int().positive().default(1024),
});

/** Kafka streaming inference (protocol/kafka/, docs/kafka.md); off without brokers and streams. */
export const KafkaOptionsSchema = z.object({
  /** Bootstrap brokers, `host:port` (each entry may hold a comma-separated list). */
  kafkaBrokers: z.array(z.string()).default([]),
  /** Stream bindings `MODEL[:VERSION]=INPUT_TOPIC,OUTPUT_TOPIC[,GROUP]` (protocol/kafka/config.ts). */
  kafkaStreams: z.array(z.string()).default([]),
  /** Where undecodable, invalid or failed records go (default: `<input topic>.dlq` per stream). */
  kafkaDeadLetterTopic: z.string().min(1).optional(),
  /** Largest record value taken; larger ones are dead-lettered (default: maxBodyBytes). */
  kafkaMaxMessageBytes: z.number().int().positive().optional(),
  /** Calls of one partition in the model at once (results still go out in offset order). */
  kafkaInFlight: z.number().int().positive().default(64),
  /** The Kafka client id (broker logs and quotas). */
  kafkaClientId: z.string().min(1).default('infergate'),
  /** How often each stream reads its group's lag from the broker (ms). */
  kafkaLagIntervalMs: z.number().int().positive().default(5000),
});

export type ServerOptions = z.infer<typeof ServerOptionsSchema> &
  z.infer<typeof SecurityOptionsSchema> &
  z.infer<typeof KafkaOptionsSchema>;
export type ServerOptionsInput = z.input<typeof ServerOptionsSchema> &
  z.input<typeof SecurityOptionsSchema> &
  z.input<typeof KafkaOptionsSchema>;

/** Parses every server option group. */
export function parseServerOptions(input: ServerOptionsInput): ServerOptions {
  return {
    ...ServerOptionsSchema.parse(input),
    ...SecurityOptionsSchema.parse(input),
    ...KafkaOptionsSchema.parse(input),
  };
}
