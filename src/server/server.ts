import { instanceLabel } from '../backend/instance-ref.js';
import type { Backend, InstanceEvent } from '../backend/types.js';
import { type Clock, systemClock } from '../core/index.js';
import { LogControl } from '../observability/log-settings.js';
import { createLogger, type Logger } from '../observability/logger.js';
import { Metrics } from '../observability/metrics.js';
import { type MetricsServer, startMetricsServer } from '../observability/metrics-server.js';
import type { DropReason } from '../observability/stats.js';
import { StatsRegistry } from '../observability/stats-registry.js';
import { Tracing } from '../observability/tracing.js';
import { SystemSharedMemory } from '../protocol/common/shm-regions.js';
import { createGrpcServer } from '../protocol/grpc/server.js';
import { createHttpServer } from '../protocol/http/server.js';
import { ModelRepository } from '../repository/repository.js';
import { EVICTED_REASON } from '../repository/residency.js';
import type { ModelRepositoryApi, RepositoryEvent } from '../repository/types.js';
import type { RegistrySync } from '../manager/sync.js';
import { ManualTraffic } from '../rollout/manual-traffic.js';
import { SplitPolicy } from '../rollout/split-policy.js';
import { AdminApi } from '../router/admin.js';
import { AliasPolicy } from '../router/alias-policy.js';
import type { VersionPolicy } from '../router/policy.js';
import { Breakers } from '../resilience/breakers.js';
import { Router, readyPolicy } from '../router/router.js';
import { createScheduler } from '../scheduler/create-scheduler.js';
import { openSupplyPolicy } from '../supply/policy.js';
import type { PayloadLog } from '../privacy/payload-log.js';
import { openPrivacy } from '../privacy/open.js';
import { type ServerOptions, type ServerOptionsInput, parseServerOptions } from './options.js';
import { openServerAuth, type ServerAuth } from './auth.js';
import { openServerCache } from './cache.js';
import { openServerKafka } from './kafka.js';
import { openServerBackends } from './backends.js';
import { openServerRollouts, type ServerRollouts } from './rollouts.js';
import { openServerTls } from './tls.js';
import { claimServingDir, openServerRegistry, type ServerRegistry } from './registry.js';
import { shutdown } from './shutdown.js';

const VERSION = '0.1.0';

/** Extensions advertised in server metadata: only what is implemented. */
const EXTENSIONS = [
  'classification',
  'model_repository',
  'schedule_policy',
  'model_configuration',
  'binary_tensor_data',
  'system_shared_memory',
  'parameters',
  'statistics',
  'trace',
  'logging',
];

/** A running server: its bound ports and how to stop it. */
export interface RunningServer {
  readonly httpPort: number | undefined;
  readonly grpcPort: number | undefined;
  /** Port of GET /metrics; undefined when metrics are disabled. */
  readonly metricsPort: number | undefined;
  readonly router: Router;
  readonly admin: AdminApi;
  readonly tracing: Tracing;
  readonly logger: Logger;
  /** The model registry (service, and the sync in registry control mode), when configured. */
  readonly registry: ServerRegistry | undefined;
  /** Rollouts (registry control mode): the service and this replica's id. */
  readonly rollouts: ServerRollouts | undefined;
  /** Payload logging (privacy/), when --payload-log-dir is set. */
  readonly payloadLog: PayloadLog | undefined;
  /** Readiness turns false, the drain period passes, in-flight requests finish, models unload. */
  /**
   * `timedOut`: the exit timeout passed with work still running; a model thread may be inside a
   * native onnxruntime call, which a process.exit() would wait for (serve ends the process otherwise).
   */
  stop(options?: StopOptions): Promise<{ timedOut: boolean }>;
}

/** How one stop runs. */
export interface StopOptions {
  /** Overrides the configured drain period (0 for an interactive Ctrl-C). */
  drainSeconds?: number;
}

/** Optional pieces a test may replace. */
export interface ServerDeps {
  /** Replaces the onnxruntime backend (the registry then holds this one only). */
  backend?: Backend;
  logger?: Logger;
  clock?: Clock;
  /** Tracing to use instead of the one configured from OTEL_* (tests inject an in-memory exporter). */
  tracing?: Tracing;
}

/** Composition root: options → logger → backend → repository → router → protocol servers. */
export async function startServer(input: ServerOptionsInput, deps: ServerDeps = {}): Promise<RunningServer> {
  const o: ServerOptions = parseServerOptions(input);
  const logger = deps.logger ?? createLogger({ level: o.logLevel, format: o.logFormat });
  const clock = deps.clock ?? systemClock;
  const stats = new StatsRegistry();
  const tracing = deps.tracing ?? new Tracing({ serviceVersion: VERSION });
  const { registry: backends, ort, caller, repository: bindRepository } = openServerBackends(o, deps.backend, logger);
  let phase: 'starting' | 'serving' | 'stopping' = 'starting';
  const responseCache = openServerCache(o, logger);
  const kafka = openServerKafka(o, logger);
  // The readers run only at scrape time, after the repository and router below exist.
  const metrics: Metrics | undefined = o.enableMetrics
    ? new Metrics({
        stats,
        versions: () => versionRows(repository),
        serverReady: (): boolean => router.ready(),
        limiterDegraded: () => auth.limiter.degraded(),
        traffic: () => registry?.sync?.status().traffic ?? {},
        breakers: () => breakers.states(),
        cache: () => responseCache?.cache.readings() ?? [],
        kafka: () => kafka?.readings() ?? [],
        memory: () => repository.memoryReadings(),
        workers: () => ort?.workerReading(),
      })
    : undefined;

  const breakers = new Breakers((model, version, to) => {
    metrics?.countBreakerTransition(model, version, to);
    logger.warn({ model, version, state: to }, `circuit breaker of ${model} version ${version}: ${to}`);
  });

  if (o.controlMode === 'registry') claimServingDir(o.repository);
  const repository = new ModelRepository({
    root: o.repository,
    controlMode: o.controlMode,
    pollIntervalMs: o.pollSeconds * 1000,
    startupModels: o.loadModels,
    backends,
    clock,
    createScheduler: (spec, loaded) => {
      const versionStats = () => stats.get(spec.model, spec.version);
      const scheduler = createScheduler(spec, loaded, {
        clock,
        onExecution: (batch, timing) => versionStats().execution(batch, timing),
        onRejected: (reason) => {
          versionStats().dropped(DROPS[reason]);
          logger.debug({ model: spec.model, version: spec.version, reason }, 'request rejected');
        },
        onCancelled: () => versionStats().dropped('cancelled'),
        onTracedBatch: (traces, start, end, size) =>
          tracing.batch(traces, start, end, size, spec.model, String(spec.version)),
      });
      versionStats().queue = scheduler;
      versionStats().responseCache = responseCache !== undefined && spec.responseCache === true;
      return scheduler;
    },
    onEvent: (e) => {
      if (e.type === 'ready' && e.version !== undefined) recordLoad(stats, metrics, e.model, e.version, e.ms ?? 0);
      if (e.type === 'evicted') metrics?.memory.countEviction(e.model);
      if (e.type === 'on-demand') metrics?.memory.onDemandLoad(e.model, e.reason === undefined, (e.ms ?? 0) / 1000);
      logRepositoryEvent(logger, stats, e);
    },
    modelSource: await openSupplyPolicy(o),
    // The registry's default alias is pinned too (registry mode); `registry` exists before any load.
    memoryBudget:
      o.modelMemoryBudget > 0 ? { bytes: o.modelMemoryBudget, pinned: (m, v) => pinnedByRegistry(m, v) } : undefined,
    onInstanceEvent: (e: InstanceEvent) => {
      countInstanceEvent(stats, e);
      if (e.type === 'hung') metrics?.countWorkerHang(e.instance.model, e.instance.version);
      const instance = instanceLabel(e.instance);
      logger.warn({ ...e, ...e.instance, instance }, `instance ${instance}: ${e.type}`);
    },
  });

  bindRepository.bind(repository);
  const registry: ServerRegistry | undefined = await openServerRegistry(o, repository, logger, clock);
  const pinnedByRegistry = (m: string, v: number) => registry?.sync?.isPinned(m, v) === true;
  const residency = o.modelMemoryBudget > 0 ? repository : undefined;
  const auth: ServerAuth = openServerAuth(o, { logger, metrics, registryStore: registry?.service.store });
  const tls = openServerTls(o, logger);
  const router = new Router({
    repository,
    aliases: registry?.sync,
    residency,
    policy: registry?.sync && servingPolicy(registry.sync, readyPolicy(repository, residency, clock), metrics),
    admission: {
      gatekeeper: auth.gatekeeper,
      limiter: auth.limiter,
      defaultLimit: auth.defaultLimit,
    },
    stats,
    metrics,
    logger,
    serverName: o.serverName,
    serverVersion: VERSION,
    extensions: EXTENSIONS,
    clock,
    serving: () => phase === 'serving',
    strictReadiness: o.strictReadiness,
    resilience: {
      breakers,
      ...(o.maxTimeoutMs === undefined ? {} : { maxTimeoutMs: o.maxTimeoutMs }),
      onFallback: (model, step) => metrics?.countFallback(model, step),
      onRetry: (model, allowed) => metrics?.countRetry(model, allowed),
    },
    cache: responseCache?.cache,
  });
  caller.bind(router.caller);
  const admin = new AdminApi({
    repository,
    stats,
    logControl: new LogControl(logger),
    traceControl: tracing.control,
    allowLoadFiles: o.allowLoadFiles,
    breakers,
  });
  const services = { inference: router, admin };
  const rollouts: ServerRollouts | undefined =
    registry?.sync &&
    openServerRollouts({
      store: registry.service.store,
      sync: registry.sync,
      hooks: router.hooks,
      repository,
      clock,
      logger,
      metrics,
      tickMs: o.rolloutTickMs,
    });
  const privacy = openPrivacy(o, { hooks: router.hooks, models: repository, audit: auth.audit, logger });

  const started = clock.now();
  // The ports open before any model loads: liveness answers at once, readiness once the startup
  // models are READY (orchestrators would otherwise restart a server that is still loading).
  const limits = { maxBodyBytes: o.maxBodyBytes, maxJsonBytes: o.maxJsonBytes, maxBytesElements: o.maxBytesElements };
  // One region table: a region registered over HTTP serves gRPC calls too, as in Triton.
  const sharedMemory = new SystemSharedMemory();
  const http = o.enableHttp
    ? createHttpServer(services, {
        ...limits,
        logger,
        tracing,
        registry: registry?.service,
        registryServing: registry?.sync && (() => registry.sync?.status()),
        versionAliases: registry?.sync !== undefined,
        rollouts: rollouts?.service,
        traffic: registry?.sync && new ManualTraffic(registry.service.store),
        auth: auth.gatekeeper,
        onAdmin: (e) => auth.audit.record({ action: 'security.admin', ...e }),
        https: tls?.https,
        privacy: privacy.payloadLog,
        sharedMemory,
      })
    : undefined;
  const grpc = o.enableGrpc
    ? createGrpcServer(services, {
        logger,
        tracing,
        maxMessageBytes: o.maxBodyBytes,
        maxBytesElements: o.maxBytesElements,
        auth: auth.gatekeeper,
        onAdmin: (e) => auth.audit.record({ action: 'security.admin', ...e }),
        credentials: tls?.grpc,
        sharedMemory,
      })
    : undefined;
  let httpPort: number | undefined;
  let grpcPort: number | undefined;
  let metricsServer: MetricsServer | undefined;
  try {
    httpPort = http ? await http.listen(o.httpPort, o.host) : undefined;
    grpcPort = grpc ? await grpc.listen(o.grpcPort, o.host) : undefined;
    metricsServer = metrics ? await startMetricsServer(metrics, o.metricsPort, o.host) : undefined;
    tls?.watch(http?.fastify.server);
    await repository.start();
    await registry?.sync?.start();
    rollouts?.start();
    await kafka?.start(router);
  } catch (err) {
    await kafka?.stop();
    // A port in use (or a failed start) must not leave listeners or model workers behind.
    await Promise.allSettled([http?.close(), grpc?.close(), metricsServer?.close()]);
    metrics?.close();
    await registry?.close();
    await auth.close();
    await responseCache?.cache.close();
    tls?.close();
    await repository.stop();
    await backends.close();
    throw err;
  }
  phase = 'serving';
  logger.info(auth.summary);
  if (responseCache) logger.info(responseCache.summary);
  if (tls) logger.info(tls.summary);
  privacy.start();
  const metricsPort = metricsServer?.port;
  const ready = router.ready();
  logger.info(
    { httpPort, grpcPort, metricsPort, ms: Math.round(clock.now() - started), ready },
    ready
      ? `infergate ready: HTTP on ${o.host}:${httpPort ?? '-'}, gRPC on ${o.host}:${grpcPort ?? '-'}`
      : `infergate started but NOT ready (some models failed to load): HTTP ${httpPort ?? '-'}, gRPC ${grpcPort ?? '-'}`,
  );

  let stopping: Promise<{ timedOut: boolean }> | undefined;
  const stop = (options: StopOptions = {}) => {
    stopping ??= (async () => {
      phase = 'stopping';
      // Streams first: their calls finish and are produced and committed while the models still serve.
      await kafka?.stop();
      // The alias table stays as it is through the drain; only the registry polling stops.
      await rollouts?.stop();
      await registry?.sync?.stop();
      const drainMs = (options.drainSeconds ?? o.drainSeconds) * 1000;
      const { timedOut } = await shutdown({ http, grpc, repository, logger }, drainMs, o.exitTimeoutSeconds * 1000);
      sharedMemory.close();
      // Past the timeout a worker may still be inside a native call: the process exit ends it.
      if (!timedOut) await backends.close();
      tls?.close();
      await privacy.close();
      await auth.close();
      await responseCache?.cache.close();
      await registry?.close();
      // Metrics stay scrapeable through the drain; traces still buffered are flushed last.
      await metricsServer?.close();
      metrics?.close();
      await tracing.shutdown().catch((err) => logger.warn({ err }, 'flushing traces failed'));
      logger.info('shutdown complete');
      logger.flush?.();
      return { timedOut };
    })();
    return stopping;
  };
  const payloadLog = privacy.payloadLog;
  return { httpPort, grpcPort, metricsPort, router, admin, tracing, logger, registry, rollouts, payloadLog, stop };
}

/** Registry mode's chain: a traffic split (unqualified calls) → aliases → Triton's ready-version policy. */
function servingPolicy(sync: RegistrySync, ready: VersionPolicy, metrics?: Metrics): VersionPolicy {
  return new SplitPolicy(sync, new AliasPolicy(sync, ready), {
    onStickyMissing: (model) => metrics?.countStickyMissing(model),
  });
}

/** Scheduler drop reasons → metric label values. */
const DROPS: Record<'queue-full' | 'timeout' | 'shed' | 'deadline', DropReason> = {
  'queue-full': 'queue_full',
  timeout: 'queue_timeout',
  shed: 'shed',
  deadline: 'deadline',
};

/**
 * Versions for infergate_model_ready: loaded, loading or failed ones (not those unloaded on
 * purpose, nor those the memory budget evicted: they answer calls; a failed reload shows).
 */
function versionRows(repository: ModelRepositoryApi): Array<{ model: string; version: string; ready: boolean }> {
  return repository
    .index(false)
    .filter((e) => e.version !== undefined && e.reason !== 'unloaded' && e.reason !== EVICTED_REASON)
    .map((e) => ({ model: e.name, version: e.version as string, ready: e.state === 'READY' }));
}

function recordLoad(stats: StatsRegistry, metrics: Metrics | undefined, model: string, version: number, ms: number) {
  stats.get(model, version).loadSeconds = ms / 1000;
  metrics?.modelLoaded(model, ms / 1000);
}

/** Worker crash/restart counts of the instance's version. */
function countInstanceEvent(stats: StatsRegistry, e: InstanceEvent): void {
  if (e.type !== 'crash' && e.type !== 'restart') return;
  const s = stats.peek(e.instance.model, e.instance.version);
  if (!s) return;
  if (e.type === 'crash') s.workerCrashes++;
  else s.workerRestarts++;
}

function logRepositoryEvent(logger: Logger, stats: StatsRegistry, e: RepositoryEvent): void {
  const at = { model: e.model, version: e.version };
  switch (e.type) {
    case 'loading':
      logger.info(at, `loading ${e.model} v${e.version}`);
      break;
    case 'ready':
      logger.info({ ...at, ms: e.ms }, `ready   ${e.model} v${e.version} (${Math.round(e.ms ?? 0)} ms)`);
      break;
    case 'failed':
      logger.error({ ...at, reason: e.reason }, `FAILED  ${e.model} v${e.version}: ${e.reason}`);
      break;
    case 'unloaded':
      stats.drop(e.model, e.version ?? 0);
      logger.info(at, `unloaded ${e.model} v${e.version}`);
      break;
    case 'evicted':
      logger.info({ ...at, bytes: e.bytes }, `evicted ${e.model} v${e.version} (memory budget, ${e.bytes} bytes)`);
      break;
    case 'on-demand':
      if (e.reason === undefined)
        logger.info({ ...at, ms: e.ms }, `loaded ${e.model} v${e.version} on demand (${Math.round(e.ms ?? 0)} ms)`);
      else logger.warn({ ...at, reason: e.reason }, `on-demand load of ${e.model} v${e.version} failed: ${e.reason}`);
      break;
    default:
      logger.debug({ ...at, event: e.type }, `${e.type} ${e.model}`);
  }
}
