/** Plain stand-ins for the router's collaborators: versions with a recording scheduler, a repository over them. */
import type { Clock, ModelVersionSpec, Tensor } from '../../../src/core/index.js';
import { notFound } from '../../../src/core/index.js';
import { DEFAULT_EXECUTION } from '../../../src/config/execution.js';
import { BREAKER_DEFAULTS } from '../../../src/config/resilience.js';
import { createLogger } from '../../../src/observability/logger.js';
import { StatsRegistry } from '../../../src/observability/stats-registry.js';
import type { ModelRepositoryApi, VersionHandle, VersionStatus } from '../../../src/repository/types.js';
import { Router } from '../../../src/router/router.js';
import type { Job, JobResult, Scheduler } from '../../../src/scheduler/types.js';

export const SPEC: Omit<ModelVersionSpec, 'version'> = {
  model: 'm',
  path: '/nowhere',
  maxBatchSize: 4,
  inputs: [{ name: 'x', datatype: 'FP32', dims: [2] }],
  outputs: [{ name: 'y', datatype: 'FP32', dims: [2] }],
  instances: 1,
  execution: DEFAULT_EXECUTION,
  warmup: [],
};

/** A scheduler that answers every job with its own input renamed 'y', recording the jobs. */
export class EchoScheduler implements Scheduler {
  readonly jobs: Job[] = [];
  pending = 0;
  inflight = 0;
  async submit(job: Job): Promise<JobResult> {
    this.jobs.push(job);
    const outputs = job.inputs.map((t) => ({ ...t, name: 'y' }));
    return { outputs, timing: { inputNs: 1, inferNs: 2, outputNs: 3 }, queueNs: 4, executedBatchSize: job.batchSize };
  }
  async drain(): Promise<void> {}
  abandon(): void {}
}

export function version(v: number, scheduler: Scheduler = new EchoScheduler()): VersionHandle {
  return { model: 'm', version: v, spec: { ...SPEC, version: v } as ModelVersionSpec, config: {}, scheduler };
}

/** A repository holding model 'm' with the given READY versions (and 'm' v9 known but not ready). */
export function repoOf(versions: VersionHandle[]): ModelRepositoryApi {
  const known = (model: string) => {
    if (model !== 'm') throw notFound.model(model);
  };
  const statuses = (): VersionStatus[] => [
    ...versions.map((h) => ({ model: 'm', version: h.version, state: 'READY' as const, spec: h.spec })),
    { model: 'm', version: 9, state: 'UNAVAILABLE' },
  ];
  return {
    start: async () => {},
    stop: async () => {},
    sync: async () => {},
    abandonQueued: () => {},
    readyVersions: (model) => {
      known(model);
      return [...versions].sort((a, b) => b.version - a.version);
    },
    subscribe: () => () => {},
    modelVersions: (model, v) => {
      known(model);
      const rows = statuses().filter((s) => v === undefined || String(s.version) === String(v));
      if (rows.length === 0) throw notFound.version(model, String(v));
      return rows;
    },
    modelConfig: () => ({}),
    index: () => [],
    load: async () => {},
    unload: async () => {},
    allReady: () => true,
  };
}

export const x = (rows = 1): Tensor => ({
  name: 'x',
  datatype: 'FP32',
  shape: [rows, 2],
  data: new Float32Array(rows * 2),
});

/** A router over `repo` with a silent logger; `errors` collects what it logged at error level. */
export function routerOver(repo: ModelRepositoryApi, extra: { strictReadiness?: boolean } = {}) {
  const errors: unknown[] = [];
  const logger = createLogger({ level: 'error', format: 'json' });
  logger.error = ((obj: unknown) => {
    errors.push(obj);
  }) as typeof logger.error;
  const stats = new StatsRegistry();
  const router = new Router({
    repository: repo,
    stats,
    logger,
    serverName: 'test',
    serverVersion: '0',
    extensions: [],
    serving: () => true,
    ...extra,
  });
  return { router, stats, errors };
}

/** A repository of READY versions of any models (highest first); an unknown model is 404. */
export function repoOfHandles(handles: VersionHandle[]): ModelRepositoryApi {
  const ready = (m: string) => {
    const hs = handles.filter((h) => h.model === m).sort((a, b) => b.version - a.version);
    if (hs.length === 0) throw notFound.model(m);
    return hs;
  };
  return {
    readyVersions: ready,
    modelVersions: (m) => ready(m).map((h) => ({ model: m, version: h.version, state: 'READY' as const })),
    allReady: () => true,
    subscribe: () => () => {},
  } as Partial<ModelRepositoryApi> as ModelRepositoryApi;
}

/** A clock a test moves by hand (`t`: both monotonic and wall ms). */
export function manualClock() {
  const c = { t: 1_000_000, now: () => c.t, wallMs: () => c.t };
  return c satisfies Clock;
}

/** A breaker that opens after 2 failures in a row, probes every call after 1 s, closes on one success. */
export const FAST_BREAKER = {
  ...BREAKER_DEFAULTS,
  consecutiveFailures: 2,
  openMs: 1000,
  halfOpenShare: 1,
  halfOpenSuccesses: 1,
};

/** The options every test Router needs and none cares about: fresh statistics, a silent logger, serving. */
export function quietRouterOptions() {
  return {
    stats: new StatsRegistry(),
    logger: createLogger({ level: 'silent', format: 'json' }),
    serverName: 't',
    serverVersion: '0',
    extensions: [],
    serving: () => true,
  };
}
