// A served model repository whose calls have shadows, in-process, for the shadow e2e test and
// bench/shadow-overhead.ts. The pieces are the ones src/server/server.ts composes (onnxruntime
// workers, schedulers, Router, the HTTP transport), but the version policy is a small test one
// (`ShadowPlan`): the server itself gets shadows only from a registry traffic policy, which these
// tests do not need to exercise the shadow path itself.
import { rm } from 'node:fs/promises';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { OrtBackend } from '../../src/backend/ort/backend.js';
import { BackendRegistry } from '../../src/backend/registry.js';
import { type CallContext, notFound, systemClock } from '../../src/core/index.js';
import { HttpClient } from '../../src/client/http-client.js';
import { LogControl } from '../../src/observability/log-settings.js';
import { StatsRegistry } from '../../src/observability/stats-registry.js';
import { TraceControl } from '../../src/observability/trace-control.js';
import { createHttpServer } from '../../src/protocol/http/server.js';
import { ModelRepository } from '../../src/repository/repository.js';
import type { VersionHandle } from '../../src/repository/types.js';
import { type ShadowRunnerOptions, ShadowRunner } from '../../src/rollout/shadow.js';
import { AdminApi } from '../../src/router/admin.js';
import { LatestReadyPolicy, type Target, type VersionPolicy } from '../../src/router/policy.js';
import { Router } from '../../src/router/router.js';
import { createScheduler } from '../../src/scheduler/create-scheduler.js';
import type { Scheduler } from '../../src/scheduler/types.js';

/**
 * A view of `s` with some of its members replaced: a slow, busy or counting shadow without a real
 * load. `pending` fixed reports that much queued work whatever the scheduler has.
 */
export function viewScheduler(s: Scheduler, over: { submit?: Scheduler['submit']; pending?: number }): Scheduler {
  return {
    submit: over.submit ?? ((j) => s.submit(j)),
    get pending() {
      return over.pending ?? s.pending;
    },
    get inflight() {
      return s.inflight;
    },
    drain: () => s.drain(),
    abandon: (e) => s.abandon(e),
  };
}

/** Where a model's unqualified calls go: the primary version and its shadows (changed freely between calls). */
export interface ShadowPlan {
  primary: number;
  shadows: number[];
  /** A shadow version's scheduler seen through this (a busy or slow shadow without a real load). */
  wrap?: Map<number, (s: Scheduler) => Scheduler>;
}

/** Unqualified calls of a planned model go to its primary, with its shadows; everything else is Triton's. */
class PlannedPolicy implements VersionPolicy {
  private readonly latest: LatestReadyPolicy;

  constructor(
    private readonly repository: ModelRepository,
    private readonly plans: Map<string, ShadowPlan>,
  ) {
    this.latest = new LatestReadyPolicy(repository);
  }

  resolve(model: string, requested: string | undefined, _ctx: CallContext): Target {
    const plan = this.plans.get(model);
    if (!plan || (requested !== undefined && requested !== '')) return this.latest.resolve(model, requested);
    const ready = this.repository.readyVersions(model);
    const primary = ready.find((v) => v.version === plan.primary);
    if (!primary) throw notFound.notReady(model, plan.primary);
    const shadows: VersionHandle[] = [];
    for (const v of plan.shadows) {
      const h = ready.find((r) => r.version === v);
      const wrap = plan.wrap?.get(v);
      if (h) shadows.push(wrap ? { ...h, scheduler: wrap(h.scheduler) } : h);
    }
    return { primary, shadows };
  }
}

export interface ShadowServer {
  /** http://127.0.0.1:<port> */
  url: string;
  http: HttpClient;
  router: Router;
  repository: ModelRepository;
  runner: ShadowRunner;
  /** Per model: where its calls go now. */
  plans: Map<string, ShadowPlan>;
  close(): Promise<void>;
}

function silentLogger() {
  return pino(
    { level: 'info' },
    new Writable({
      write(_c, _e, done) {
        done();
      },
    }),
  );
}

/** Serves every model of `root` (explicit mode, all loaded) over HTTP on an ephemeral port, with a ShadowRunner. */
export async function startShadowServer(
  root: string,
  models: string[],
  runnerOptions: ShadowRunnerOptions = {},
): Promise<ShadowServer> {
  const backends = new BackendRegistry([new OrtBackend()]);
  const stats = new StatsRegistry();
  const logger = silentLogger();
  const repository = new ModelRepository({
    root,
    controlMode: 'explicit',
    startupModels: models,
    backends,
    clock: systemClock,
    createScheduler: (spec, loaded) => createScheduler(spec, loaded, { clock: systemClock }),
  });
  const plans = new Map<string, ShadowPlan>();
  const router = new Router({
    repository,
    stats,
    logger,
    serverName: 'infergate-shadow-test',
    serverVersion: '0',
    extensions: [],
    policy: new PlannedPolicy(repository, plans),
    serving: () => true,
  });
  const admin = new AdminApi({
    repository,
    stats,
    logControl: new LogControl(logger),
    traceControl: new TraceControl(),
    allowLoadFiles: false,
  });
  const runner = new ShadowRunner(router.hooks, runnerOptions);
  const server = createHttpServer({ inference: router, admin }, { logger });
  const port = await server.listen(0, '127.0.0.1');
  await repository.start();
  const url = `http://127.0.0.1:${port}`;
  const http = new HttpClient(url);
  return {
    url,
    http,
    router,
    repository,
    runner,
    plans,
    async close() {
      await http.close();
      await server.close();
      await runner.close();
      await repository.stop();
      await backends.close();
      await rm(root, { recursive: true, force: true });
    },
  };
}
