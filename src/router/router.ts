/**
 * The single front door of the data plane: health, metadata, and inference through the request
 * pipeline. The pipeline, in order (outermost first), and why:
 *   observe   — first, so every call ends exactly once as `answered` or `failed`, whatever throws
 *   admit     — the principal may infer on this model (else 404, as if absent) and has rate budget
 *   resolve   — the version policy picks the target; everything after works on a known version
 *   deadline  — the call's deadline (client's, model default, server maximum); a call already late
 *               is refused before any work (validation, queueing) is spent
 *   cache     — the response cache, for models with response_cache: a hit answers here. After
 *               `resolve` (the key needs the concrete version) and `deadline` (a remote lookup
 *               waits at most the time left). Before `fallback` and `breaker`: a hit is not an
 *               execution, so it must not count as the breaker's success, nor as a first attempt
 *               in the retry budget, nor cost the chain its copy of the inputs, and a cached answer
 *               still serves while the breaker is open; on the way back only the primary's own
 *               answer is stored, never a fallback step's. Before `validate`: everything validation
 *               reads is in the key (cache/key.ts) and only answered calls store entries, so a
 *               request validation would refuse never finds one; the key is computed before
 *               `schedule` transfers the inputs to the worker.
 *   fallback  — the model's chain when the primary cannot answer (breaker open, queue full, failed,
 *               out of time), within a retry budget; outside `breaker` so each step meets its own
 *   breaker   — the target version's circuit breaker: refuses at once while open, learns outcomes
 *   validate  — the request against the target's signature, before anything is queued
 *   schedule  — the target's scheduler; the answer is shaped for the client
 * A new concern (auth, limits, cache, breaker, shadow) is a file in stages/ and a line below.
 */
import type { ResponseCacheApi } from '../cache/cache.js';
import {
  type CallContext,
  type Clock,
  type InferRequest,
  type InferResponse,
  type ModelCaller,
  systemClock,
} from '../core/index.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { RequestLog } from '../observability/request-log.js';
import type { StatsRegistry } from '../observability/stats-registry.js';
import type { ModelRepositoryApi } from '../repository/types.js';
import { Breakers } from '../resilience/breakers.js';
import { Hooks } from './hooks.js';
import { modelMetadata } from './metadata.js';
import { installRequestLog, installStatistics, installTracing } from './observers.js';
import { compose, type Dispatch, type Stage } from './pipeline.js';
import { AliasPolicy, translateVersion, type VersionAliases } from './alias-policy.js';
import { OnDemandPolicy, type Residency } from './on-demand-policy.js';
import { LatestReadyPolicy, type VersionPolicy, type VersionSource } from './policy.js';
import { breaker } from './stages/breaker.js';
import { cache } from './stages/cache.js';
import { deadline } from './stages/deadline.js';
import { type FallbackOptions, fallback } from './stages/fallback.js';
import { observe } from './stages/observe.js';
import { resolve } from './stages/resolve.js';
import { type AdmitOptions, admit } from './stages/admit.js';
import { schedule } from './stages/schedule.js';
import { validate } from './stages/validate.js';
import type { InferenceService, ModelMetadata, ServerMetadata } from './types.js';

/** What the router needs from the composition root. */
export interface RouterOptions {
  repository: ModelRepositoryApi;
  stats: StatsRegistry;
  /** Counts requests that never reached a model version (absent in tests without metrics). */
  metrics?: Pick<Metrics, 'countUnrouted'>;
  logger: Logger;
  serverName: string;
  serverVersion: string;
  extensions: string[];
  clock?: Clock;
  /**
   * Where calls go, the whole chain (e.g. a traffic split in front of aliases in front of Triton's
   * policy); default: Triton's (the requested version, else the highest READY), behind `aliases`.
   */
  policy?: VersionPolicy;
  /** Registry aliases callers may name as versions (router/alias-policy.ts); absent: numbers only. */
  aliases?: VersionAliases;
  /**
   * The model memory budget's residency (on-demand-policy.ts): calls for evicted versions load
   * them. Wraps the default policy only; a given `policy` composes it itself (see `readyPolicy`).
   */
  residency?: Residency;
  /** Who may infer on what, and how often (stages/admit.ts); absent: no admission checks (tests). */
  admission?: AdmitOptions;
  /** True between the end of startup and the start of shutdown: readiness needs it. */
  serving: () => boolean;
  /** Deadlines, breakers and fallback chains (stages deadline, fallback, breaker). */
  resilience?: ResilienceOptions;
  /** The response cache (stage cache, fallback's cache step); absent: no caching. */
  cache?: ResponseCacheApi;
  /**
   * Triton's --strict-readiness (default true): ready only while every model that should be
   * served is serving. False: ready once startup finished, whatever the models' states.
   */
  strictReadiness?: boolean;
}

/** What the composition root gives the resilience stages. */
export interface ResilienceOptions {
  /** The server's maximum deadline in ms (`--max-timeout-ms`); absent: none. */
  maxTimeoutMs?: number;
  /** Every version's breaker (shared with metrics and the repository index); default: the router's own. */
  breakers?: Breakers;
  /** Told of every answer a fallback step gave. */
  onFallback?: (model: string, step: string) => void;
  /** Told of every retry the budget allowed or denied. */
  onRetry?: (model: string, allowed: boolean) => void;
}

export class Router implements InferenceService {
  /** The lifecycle hooks; statistics, the request log and tracing are installed on them here. */
  readonly hooks: Hooks;
  /** Every version's circuit breaker. */
  readonly breakers: Breakers;
  /**
   * Calls from inside the server (an ensemble's steps, a TypeScript model's client): the same
   * pipeline without `admit` (the outer call was admitted), each step observed as its own call.
   */
  readonly caller: ModelCaller;
  private readonly clock: Clock;
  private readonly dispatch: Dispatch;

  constructor(private readonly o: RouterOptions) {
    const clock = o.clock ?? systemClock;
    this.clock = clock;
    this.hooks = new Hooks((err, hook, event) =>
      o.logger.error({ err, hook, event }, `lifecycle hook '${hook}' threw on '${event}' (logged once)`),
    );
    installStatistics(this.hooks, o.stats, o.metrics, clock);
    installRequestLog(this.hooks, new RequestLog(o.logger, () => clock.now()));
    installTracing(this.hooks);
    // A given policy is the whole chain (the server composes splits and aliases); else Triton's,
    // behind the alias translation when there are aliases.
    const latest = readyPolicy(o.repository, o.residency, clock);
    const policy = o.policy ?? (o.aliases ? new AliasPolicy(o.aliases, latest) : latest);
    const r = o.resilience ?? {};
    this.breakers = r.breakers ?? new Breakers();
    o.repository.subscribe((e) => {
      if (e.type === 'unloaded' && e.version !== undefined) this.breakers.forget(e.model, e.version);
    });
    const limits = r.maxTimeoutMs === undefined ? {} : { maxTimeoutMs: r.maxTimeoutMs };
    const chain: FallbackOptions = { repository: o.repository, clock };
    if (r.onFallback) chain.onFallback = r.onFallback;
    if (r.onRetry) chain.onRetry = r.onRetry;
    if (o.cache) chain.cache = o.cache;
    const inner: Stage[] = [
      resolve(policy, this.hooks),
      deadline(clock, limits),
      ...(o.cache ? [cache({ cache: o.cache, clock, hooks: this.hooks })] : []),
      fallback(chain),
      breaker(this.breakers, clock),
      validate,
    ];
    const last = schedule(this.hooks, clock);
    const observed = observe(this.hooks, clock);
    this.dispatch = compose([observed, ...(o.admission ? [admit(o.admission)] : []), ...inner], last);
    const internal = compose([observed, ...inner], last);
    this.caller = {
      // The step's answer is not written anywhere: `answered` runs as it returns.
      infer: (request, parent) => internal({ request, ctx: { ...parent, written: undefined }, startedAt: clock.now() }),
    };
  }

  infer(request: InferRequest, ctx: CallContext): Promise<InferResponse> {
    return this.dispatch({ request, ctx, startedAt: this.clock.now() });
  }

  live(): boolean {
    return true;
  }

  ready(): boolean {
    return this.o.serving() && (this.o.strictReadiness === false || this.o.repository.allReady());
  }

  serverMetadata(): ServerMetadata {
    return { name: this.o.serverName, version: this.o.serverVersion, extensions: [...this.o.extensions] };
  }

  modelReady(model: string, version?: string): boolean {
    // An evicted version is ready to serve: a call loads it (memory budget, docs/memory.md).
    return this.o.repository
      .modelVersions(model, this.named(model, version))
      .some((v) => v.state === 'READY' || v.evicted === true);
  }

  modelMetadata(model: string, version?: string): ModelMetadata {
    const v = this.named(model, version);
    return modelMetadata(model, v, this.o.repository.modelVersions(model, v));
  }

  modelConfig(model: string, version?: string): Record<string, unknown> {
    return this.o.repository.modelConfig(model, this.named(model, version));
  }

  /** An alias as its number (metadata, readiness and config accept aliases too); a number as is. */
  private named(model: string, version: string | undefined): string | undefined {
    if (!this.o.aliases || version === undefined || version === '') return version;
    return translateVersion(this.o.aliases, model, version);
  }
}

/** Triton's latest-READY policy, loading evicted versions on demand when there is a memory budget. */
export function readyPolicy(source: VersionSource, residency: Residency | undefined, clock: Clock): VersionPolicy {
  const latest = new LatestReadyPolicy(source);
  return residency ? new OnDemandPolicy(latest, residency, clock) : latest;
}
