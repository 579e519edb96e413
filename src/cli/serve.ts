import { writeSync } from 'node:fs';
import { type Command, InvalidArgumentError, Option } from 'commander';

function int(name: string) {
  return (v: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`${name} must be a non-negative integer`);
    return n;
  };
}

function posInt(name: string) {
  return (v: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`${name} must be a positive integer`);
    return n;
  };
}

function bool(name: string) {
  return (v: string) => {
    if (v === 'true' || v === '1') return true;
    if (v === 'false' || v === '0') return false;
    throw new InvalidArgumentError(`${name} must be true or false`);
  };
}

function num(name: string) {
  return (v: string) => {
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`${name} must be a positive number`);
    return n;
  };
}

function rateArg(v: string): { rate: number; burst: number } {
  const m = /^([0-9]+(?:\.[0-9]+)?)(?::([0-9]+))?$/.exec(v);
  const rate = Number(m?.[1]);
  if (!m || !(rate > 0)) throw new InvalidArgumentError('--rate-limit must be RATE or RATE:BURST, e.g. 100:200');
  return { rate, burst: m[2] ? Number(m[2]) : Math.max(1, Math.ceil(2 * rate)) };
}

function collect(v: string, prev: string[]): string[] {
  return [...prev, v];
}

/** `infergate serve [repo]`: serves a Triton-layout model repository over HTTP and gRPC. */
export function registerServeCommand(program: Command): void {
  program
    .command('serve')
    .description('serve a model repository (Triton layout) over KServe v2 HTTP and gRPC')
    .argument('[repository]', 'model repository folder', 'examples/models')
    .option('--host <address>', 'address to listen on', '127.0.0.1')
    .option('--http-port <port>', 'KServe v2 REST port (0 = any free port)', int('--http-port'), 8000)
    .option('--grpc-port <port>', 'KServe v2 gRPC port (0 = any free port)', int('--grpc-port'), 8001)
    .option('--no-http', 'disable the HTTP endpoint')
    .option('--no-grpc', 'disable the gRPC endpoint')
    .option('--metrics-port <port>', 'Prometheus GET /metrics port (0 = any free port)', int('--metrics-port'), 8002)
    .option('--no-metrics', 'disable the metrics endpoint')
    .option('--allow-metrics <bool>', "Triton's spelling: false disables the metrics endpoint", bool('--allow-metrics'))
    .addOption(
      new Option(
        '--model-control-mode <mode>',
        'none: load all at start; explicit: load/unload API; poll: watch; registry: serve what registry aliases and pins name',
      )
        .choices(['none', 'explicit', 'poll', 'registry'])
        .default('none'),
    )
    .option(
      '--registry <dir|url>',
      'model registry: a directory (embedded SQLite + artifacts) or postgres://…; enables /v2/registry (registry mode default: <repository>.registry)',
    )
    .option('--registry-artifacts <dir>', 'artifact directory shared by replicas (required with PostgreSQL)')
    .option(
      '--registry-poll-secs <s>',
      'registry mode: how often to check the registry for changes',
      num('--registry-poll-secs'),
      1,
    )
    .option('--registry-default-alias <alias>', 'registry mode: where calls that name no version go', 'production')
    .option(
      '--registry-protected-alias <alias>',
      'alias that only moves to a validated version (repeatable; default production)',
      collect,
      [],
    )
    .option(
      '--registry-fetch-allow <host[:port]>',
      'host the admin API may import sources from (repeatable; *.domain allowed); none by default',
      collect,
      [],
    )
    .option('--registry-fetch-allow-http', 'also allow plain http:// to those hosts')
    .option('--load-model <name>', 'model to load at start in explicit mode (repeatable; * = all)', collect, [])
    .option('--repository-poll-secs <s>', 'rescan interval in poll mode', int('--repository-poll-secs'), 15)
    .addOption(
      new Option('--log-level <level>', 'log level')
        .choices(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
        .default('info'),
    )
    .addOption(
      new Option('--log-format <format>', 'json lines, or pretty for terminals (default: pretty on a TTY)').choices([
        'json',
        'pretty',
      ]),
    )
    .option(
      '--server-name <name>',
      "name reported in server metadata (use 'triton' for scripts that check it)",
      'infergate',
    )
    .option(
      '--max-body-bytes <n>',
      'largest accepted HTTP request body (compressed or not) and gRPC message',
      int('--max-body-bytes'),
      64 << 20,
    )
    .option(
      '--max-json-bytes <n>',
      'largest JSON in an infer request (whole body, or a binary request’s JSON header); use binary data beyond',
      int('--max-json-bytes'),
      4 << 20,
    )
    .option(
      '--max-timeout-ms <ms>',
      'longest deadline a call may have; longer ones are clamped (the response says so), calls without one get it',
      int('--max-timeout-ms'),
    )
    .option('--max-bytes-elements <n>', 'most BYTES elements one input may carry', int('--max-bytes-elements'), 65_536)
    .option(
      '--strict-readiness <bool>',
      'ready only while every model that should be served has a READY version (false: once startup finished)',
      bool('--strict-readiness'),
      true,
    )
    .option(
      '--drain-secs <s>',
      'after SIGTERM, how long to keep serving with readiness false before closing the listeners',
      int('--drain-secs'),
      5,
    )
    .option(
      '--exit-timeout-secs <s>',
      'after the drain, how long in-flight requests may take before queued ones get a retryable 503',
      int('--exit-timeout-secs'),
      30,
    )
    .option('--require-signed', 'load a version only if its signed manifest verifies against a --trusted-key')
    .option(
      '--trusted-key <file>',
      'Ed25519 public key (PEM) whose model manifests are trusted (repeatable)',
      collect,
      [],
    )
    .option('--model-key-file <file>', 'base64 AES-256 key of encrypted models (default: $INFERGATE_MODEL_KEY)')
    .addOption(
      new Option(
        '--auth <mode>',
        'off: open inference, control surface for loopback only; required: credentials everywhere',
      ).choices(['off', 'required']),
    )
    .option(
      '--auth-config <file>',
      'auth config (YAML/JSON): API keys, JWT/JWKS, mTLS identities, tenants, rate limits (docs/security.md)',
    )
    .option('--api-keys <file>', 'API key file made with `infergate auth key create`')
    .option('--audit-log <file>', 'hash-chained JSON-lines audit trail of admin actions and refused calls')
    .option('--allow-load-files', "let Triton's load API carry model files ('file:' parameters; admin only)")
    .option(
      '--rate-limit <rate[:burst]>',
      'inference requests per second per principal, and burst (default burst: 2 × rate)',
      rateArg,
    )
    .option('--rate-limit-redis <url>', 'share rate limits between replicas through this Redis')
    .option('--tls-cert <file>', 'TLS certificate (PEM) for HTTP and gRPC; reloaded when the file changes')
    .option('--tls-key <file>', 'TLS private key (PEM)')
    .option('--tls-ca <file>', 'CA of client certificates (mTLS)')
    .option('--tls-require-client-cert', 'refuse TLS clients without a certificate from --tls-ca')
    .option('--payload-log-dir <dir>', 'log sampled request payloads of models that ask for it (payload_log_sample)')
    .option(
      '--cache-memory-bytes <n>',
      'byte budget of the in-process response cache for models with response_cache (0 = none)',
      int('--cache-memory-bytes'),
      64 << 20,
    )
    .option(
      '--cache-redis <url>',
      'Redis (redis://[user:password@]host:port[/db]) shared by replicas as the response cache tier (default: $INFERGATE_CACHE_REDIS)',
    )
    .option('--cache-ttl-secs <s>', 'how long a cached response lives', num('--cache-ttl-secs'), 300)
    .option(
      '--feature-store-redis <url>',
      'Redis (redis://[user:password@]host:port[/db]) that feature_store models read (default: $INFERGATE_FEATURE_STORE_REDIS)',
    )
    .option(
      '--model-memory-budget <bytes>',
      'bytes loaded models may hold together; idle, unpinned ones are evicted (LRU) and reloaded on demand (0 = unlimited)',
      int('--model-memory-budget'),
      0,
    )
    .option(
      '--shared-workers <n>',
      'threads of the pool that hosts small models together (default: one per core; 0 = a thread per instance)',
      int('--shared-workers'),
    )
    .option(
      '--shared-worker-max-bytes <bytes>',
      "largest model file placed on the shared pool unless its config's worker_pool parameter says otherwise",
      int('--shared-worker-max-bytes'),
      4 * 2 ** 20,
    )
    .option(
      '--cache-redis-timeout-ms <ms>',
      'longest wait for one Redis cache operation before serving goes on without it',
      num('--cache-redis-timeout-ms'),
      50,
    )
    .option(
      '--kafka-brokers <host:port,...>',
      'Kafka bootstrap brokers for streaming inference (repeatable or comma-separated; docs/kafka.md)',
      collect,
      [],
    )
    .option(
      '--kafka-stream <model[:version]=input,output[,group]>',
      'serve a model from a Kafka topic: records of INPUT are KServe v2 requests, results go to OUTPUT (repeatable; group default infergate-<input>)',
      collect,
      [],
    )
    .option('--kafka-dead-letter-topic <topic>', 'where bad and failed records go (default: <input>.dlq per stream)')
    .option(
      '--kafka-max-message-bytes <n>',
      'largest Kafka record taken; larger ones are dead-lettered (default: --max-body-bytes)',
      posInt('--kafka-max-message-bytes'),
    )
    .option(
      '--kafka-in-flight <n>',
      'records of one partition in the model at once (results still go out in order)',
      posInt('--kafka-in-flight'),
      64,
    )
    .action(async (repository: string, opts: Record<string, unknown>) => {
      // Loaded here, not at the top: `infergate --help` and client commands stay fast.
      const { startServer } = await import('../server/server.js');
      // Signals count from the start: one that arrives while models load still ends the process.
      const signals = new SignalHandling(opts.drainSecs as number, opts.exitTimeoutSecs as number);
      const server = await startServer({
        repository,
        host: opts.host as string,
        httpPort: opts.httpPort as number,
        grpcPort: opts.grpcPort as number,
        enableHttp: opts.http as boolean,
        enableGrpc: opts.grpc as boolean,
        metricsPort: opts.metricsPort as number,
        enableMetrics: (opts.metrics as boolean) && opts.allowMetrics !== false,
        controlMode: opts.modelControlMode as 'none' | 'explicit' | 'poll' | 'registry',
        loadModels: opts.loadModel as string[],
        pollSeconds: opts.repositoryPollSecs as number,
        logLevel: opts.logLevel as 'info',
        logFormat: (opts.logFormat as 'json' | 'pretty' | undefined) ?? (process.stdout.isTTY ? 'pretty' : 'json'),
        serverName: opts.serverName as string,
        maxBodyBytes: opts.maxBodyBytes as number,
        maxJsonBytes: opts.maxJsonBytes as number,
        ...(opts.maxTimeoutMs === undefined ? {} : { maxTimeoutMs: opts.maxTimeoutMs as number }),
        maxBytesElements: opts.maxBytesElements as number,
        strictReadiness: opts.strictReadiness as boolean,
        drainSeconds: opts.drainSecs as number,
        exitTimeoutSeconds: opts.exitTimeoutSecs as number,
        registry: opts.registry as string | undefined,
        registryArtifacts: opts.registryArtifacts as string | undefined,
        registryPollSeconds: opts.registryPollSecs as number,
        registryDefaultAlias: opts.registryDefaultAlias as string,
        registryProtectedAliases: (opts.registryProtectedAlias as string[]).length
          ? (opts.registryProtectedAlias as string[])
          : ['production'],
        registryFetchAllow: opts.registryFetchAllow as string[],
        registryFetchAllowHttp: opts.registryFetchAllowHttp === true,
        requireSigned: opts.requireSigned === true,
        trustedKeys: opts.trustedKey as string[],
        modelKeyFile: opts.modelKeyFile as string | undefined,
        auth: opts.auth as 'off' | 'required' | undefined,
        authConfig: opts.authConfig as string | undefined,
        apiKeys: opts.apiKeys as string | undefined,
        auditLog: opts.auditLog as string | undefined,
        allowLoadFiles: opts.allowLoadFiles === true,
        rateLimit: opts.rateLimit as { rate: number; burst: number } | undefined,
        rateLimitRedis: opts.rateLimitRedis as string | undefined,
        tlsCert: opts.tlsCert as string | undefined,
        tlsKey: opts.tlsKey as string | undefined,
        tlsCa: opts.tlsCa as string | undefined,
        tlsRequireClientCert: opts.tlsRequireClientCert === true,
        payloadLogDir: opts.payloadLogDir as string | undefined,
        cacheMemoryBytes: opts.cacheMemoryBytes as number,
        cacheRedis: opts.cacheRedis as string | undefined,
        cacheTtlSeconds: opts.cacheTtlSecs as number,
        cacheRedisTimeoutMs: Math.ceil(opts.cacheRedisTimeoutMs as number),
        featureStoreRedis: opts.featureStoreRedis as string | undefined,
        modelMemoryBudget: opts.modelMemoryBudget as number,
        sharedWorkers: opts.sharedWorkers as number | undefined,
        sharedWorkerMaxBytes: opts.sharedWorkerMaxBytes as number,
        kafkaBrokers: opts.kafkaBrokers as string[],
        kafkaStreams: opts.kafkaStream as string[],
        kafkaDeadLetterTopic: opts.kafkaDeadLetterTopic as string | undefined,
        kafkaMaxMessageBytes: opts.kafkaMaxMessageBytes as number | undefined,
        kafkaInFlight: opts.kafkaInFlight as number,
      }).catch((err: Error & { code?: string; port?: number }) => {
        const why = err.code === 'EADDRINUSE' ? `port ${err.port} is already in use` : err.message;
        console.error(`infergate serve: cannot start: ${why}`);
        process.exit(1);
      });
      signals.serving(server);
    });
}

/**
 * Ends the process at once. Not process.exit(): it joins every worker thread, and a thread inside a
 * native onnxruntime call (a long run, a session being created) is joined only when that call
 * returns — measured: a process.exit() during a 3.5 s run waited for it, then aborted. A model
 * that runs for minutes kept a SIGTERMed server alive and busy that long (issue #21 item 8).
 */
function killNow(server: StoppableServer, why: string): void {
  server.logger.warn(`${why}: ending the process now`);
  // The log is written asynchronously and would be lost: say it on stderr too, synchronously.
  writeSync(2, `infergate serve: ${why}: ending the process now\n`);
  process.kill(process.pid, 'SIGKILL');
}

/** What signal handling needs of a running server. */
interface StoppableServer {
  stop(options?: { drainSeconds?: number }): Promise<{ timedOut: boolean }>;
  logger: {
    info(msg: string): void;
    warn(msg: string): void;
    error(obj: object, msg: string): void;
    flush?(cb?: (err?: Error) => void): void;
  };
}

/**
 * SIGTERM / SIGINT handling of `serve`, bounded in every state: the first signal stops the server
 * (drain, then in-flight work within --exit-timeout-secs; SIGINT skips the drain), a second one
 * exits at once, and a hard deadline (drain + exit timeout + 10 s) exits whatever still waits —
 * a close that never settles must not keep a process the orchestrator asked to stop. A signal
 * during startup (models still loading) exits at once: nothing is serving yet.
 */
class SignalHandling {
  #count = 0;
  #server: StoppableServer | undefined;

  constructor(
    private readonly drainSeconds: number,
    private readonly exitTimeoutSeconds: number,
  ) {
    process.on('SIGTERM', (sig) => this.#onSignal(sig));
    process.on('SIGINT', (sig) => this.#onSignal(sig));
  }

  /** The server is up: signals from now on stop it in order. */
  serving(server: StoppableServer): void {
    this.#server = server;
  }

  #onSignal(sig: NodeJS.Signals): void {
    const server = this.#server;
    if (server === undefined) {
      // Models may be loading inside native calls, which process.exit() would wait for (killNow).
      console.error(`infergate serve: ${sig} during startup: exiting`);
      process.kill(process.pid, 'SIGKILL');
      return;
    }
    if (++this.#count > 1) {
      server.logger.warn(`second ${sig}: exiting now`);
      process.exit(1);
    }
    server.logger.info(`${sig} received`);
    // Ctrl-C is a person at a terminal, not an orchestrator: no drain period for SIGINT.
    const drain = sig === 'SIGINT' ? 0 : this.drainSeconds;
    const deadline = setTimeout(
      () => killNow(server, 'shutdown did not finish within the drain and exit timeouts'),
      (drain + this.exitTimeoutSeconds + 10) * 1000,
    );
    deadline.unref();
    server.stop(sig === 'SIGINT' ? { drainSeconds: 0 } : {}).then(
      ({ timedOut }) =>
        timedOut ? killNow(server, 'the exit timeout passed with model work still running') : process.exit(0),
      (err) => {
        server.logger.error({ err }, 'error during shutdown');
        process.exit(1);
      },
    );
  }
}
