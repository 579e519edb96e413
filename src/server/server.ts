import { OrtBackend } from '../backend/ort/backend.js';
import type { Backend, InstanceEvent } from '../backend/types.js';
import { type Clock, systemClock } from '../core/index.js';
import { LogControl } from '../observability/log-settings.js';
import { createLogger, type Logger } from '../observability/logger.js';
import { StatsRegistry } from '../observability/stats-registry.js';
import { createGrpcServer } from '../protocol/grpc/server.js';
import { createHttpServer } from '../protocol/http/server.js';
import { ModelRepository } from '../repository/repository.js';
import type { RepositoryEvent } from '../repository/types.js';
import { Router } from '../router/router.js';
import { createScheduler } from '../scheduler/create-scheduler.js';
import { type ServerOptions, type ServerOptionsInput, ServerOptionsSchema } from './options.js';

const VERSION = '0.1.0';

/** Extensions advertised in server metadata: only what is implemented. */
const EXTENSIONS = [
  'classification',
  'model_repository',
  'schedule_policy',
  'model_configuration',
  'binary_tensor_data',
  'parameters',
  'statistics',
  'logging',
];

/** A running server: its bound ports and how to stop it. */
export interface RunningServer {
  readonly httpPort: number | undefined;
  readonly grpcPort: number | undefined;
  readonly router: Router;
  readonly logger: Logger;
  /** Readiness turns false, in-flight requests finish, models unload, listeners close. */
  stop(): Promise<void>;
}

/** Optional pieces a test may replace. */
export interface ServerDeps {
  backend?: Backend;
  logger?: Logger;
  clock?: Clock;
}

/** Composition root: options → logger → backend → repository → router → protocol servers. */
export async function startServer(input: ServerOptionsInput, deps: ServerDeps = {}): Promise<RunningServer> {
  const o: ServerOptions = ServerOptionsSchema.parse(input);
  const logger = deps.logger ?? createLogger({ level: o.logLevel, format: o.logFormat });
  const clock = deps.clock ?? systemClock;
  const stats = new StatsRegistry();
  const backend = deps.backend ?? new OrtBackend();
  let accepting = true;

  const repository = new ModelRepository({
    root: o.repository,
    controlMode: o.controlMode,
    pollIntervalMs: o.pollSeconds * 1000,
    startupModels: o.loadModels,
    backend,
    clock,
    createScheduler: (spec, loaded) =>
      createScheduler(spec, loaded, {
        clock,
        onExecution: (batch, timing) => stats.get(spec.model, spec.version).execution(batch, timing),
        onRejected: (reason) => logger.debug({ model: spec.model, version: spec.version, reason }, 'request rejected'),
      }),
    onEvent: (e) => logRepositoryEvent(logger, stats, e),
    onInstanceEvent: (e: InstanceEvent) => logger.warn({ ...e }, `instance ${e.instance}: ${e.type}`),
  });

  const router = new Router({
    repository,
    stats,
    logger,
    logControl: new LogControl(logger),
    serverName: o.serverName,
    serverVersion: VERSION,
    extensions: EXTENSIONS,
    clock,
    accepting: () => accepting,
  });

  const started = clock.now();
  await repository.start();
  const http = o.enableHttp ? createHttpServer(router, { maxBodyBytes: o.maxBodyBytes, logger }) : undefined;
  const grpc = o.enableGrpc ? createGrpcServer(router, { logger }) : undefined;
  let httpPort: number | undefined;
  let grpcPort: number | undefined;
  try {
    httpPort = http ? await http.listen(o.httpPort, o.host) : undefined;
    grpcPort = grpc ? await grpc.listen(o.grpcPort, o.host) : undefined;
  } catch (err) {
    // A port in use must not leave model workers running behind a dead server.
    await Promise.allSettled([http?.close(), grpc?.close()]);
    await repository.stop();
    await backend.close();
    throw err;
  }
  const ready = router.ready();
  logger.info(
    { httpPort, grpcPort, ms: Math.round(clock.now() - started), ready },
    ready
      ? `infergate ready: HTTP on ${o.host}:${httpPort ?? '-'}, gRPC on ${o.host}:${grpcPort ?? '-'}`
      : `infergate started but NOT ready (some models failed to load): HTTP ${httpPort ?? '-'}, gRPC ${grpcPort ?? '-'}`,
  );

  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      accepting = false;
      logger.info('shutting down: readiness is false, finishing in-flight requests');
      const timeout = new Promise<void>((r) => setTimeout(r, o.exitTimeoutSeconds * 1000).unref());
      await Promise.race([Promise.all([http?.close(), grpc?.close()]), timeout]);
      await repository.stop();
      await backend.close();
      logger.info('shutdown complete');
      logger.flush?.();
    })();
    return stopping;
  };
  return { httpPort, grpcPort, router, logger, stop };
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
    default:
      logger.debug({ ...at, event: e.type }, `${e.type} ${e.model}`);
  }
}
