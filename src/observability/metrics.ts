/**
 * Every Prometheus metric infergate exposes, declared here with its help text (protocol.md §E for
 * Triton's nv_* families). Per-version families are views over StatsRegistry, read at scrape time:
 * the hot path only bumps plain numbers in VersionStats, a version's series exist exactly while it
 * is registered (load → unload), and /stats and /metrics are two views of the same counters.
 * Label values come only from the repository (model names, version numbers) and fixed sets.
 */
import { collectDefaultMetrics, type Metric, Registry } from 'prom-client';
import { type Buckets, KeyedBuckets, LOAD_BUCKETS } from './histogram.js';
import { type KafkaStreamReading, kafkaFamilies } from './kafka-metrics.js';
import { MemoryMetrics, type MemoryReading, type WorkerReading } from './memory-metrics.js';
import { type Labels, type MetricType, MetricView, pushHistogram, pushHistograms, type Sample } from './metric-view.js';
import { GpuPoller, type GpuReading } from './nvidia-smi.js';
import { DROP_REASONS, FAILURE_REASONS, OUTCOMES, PROTOCOLS, STAGES, type VersionStats } from './stats.js';
import type { StatsRegistry } from './stats-registry.js';
import { CpuUtilization, EventLoopDelay, hostMemory } from './system-readings.js';

/** Reasons of infergate_unrouted_requests_total (requests that never reached a model version). */
export const UNROUTED_REASONS = [
  'model_not_found',
  'model_not_ready',
  'unavailable',
  'forbidden',
  'rate_limited',
  'other',
] as const;

/** Kinds of infergate_auth_denied_total. */
export const DENIAL_KINDS = ['authentication', 'authorization'] as const;
export type UnroutedReason = (typeof UNROUTED_REASONS)[number];

/** Where the metrics read what the stats registry does not hold. */
export interface MetricsSources {
  stats: StatsRegistry;
  /** Every version the repository knows, with whether it is READY (infergate_model_ready). */
  versions?: () => Array<{ model: string; version: string; ready: boolean }>;
  /** Server readiness (infergate_server_ready). */
  serverReady?: () => boolean;
  /** A shared rate limiter answering from its per-replica fallback (infergate_rate_limiter_degraded). */
  limiterDegraded?: () => boolean;
  /** Every circuit breaker and its state (infergate_circuit_breaker_state). */
  breakers?: () => Array<{ model: string; version: number; state: string }>;
  /** The traffic split each model applies now (infergate_traffic_weight_percent). */
  traffic?: () => Record<string, { arms: Array<{ version: number; weight: number }> }>;
  /** The response cache's tiers (infergate_cache_*); absent or empty: no cache. */
  cache?: () => CacheTierReading[];
  /** The model memory budget and what loaded versions hold (memory-metrics.ts); undefined: unlimited. */
  memory?: () => MemoryReading | undefined;
  /** Worker threads and shared sessions (memory-metrics.ts); absent: a backend without threads. */
  workers?: () => WorkerReading | undefined;
  /** The Kafka streams (kafka-metrics.ts); absent or empty: no streaming. */
  kafka?: () => readonly KafkaStreamReading[];
}

/** One response-cache tier as the cache families read it (cache/cache.ts fills it). */
export interface CacheTierReading {
  tier: 'memory' | 'redis';
  /** Lookups that found a valid entry, found none, or found bytes that did not decode. */
  hits: number;
  misses: number;
  garbage: number;
  /** Entries stored. */
  stores: number;
  /** Entries refused because they are larger than the tier takes. */
  tooLarge: number;
  /** Bytes and entries held now (memory tier). */
  bytes?: number;
  entries?: number;
  /** Redis tier: the connection, its breaker, what the breaker kept from Redis and what failed. */
  redis?: {
    connected: boolean;
    breaker: 'closed' | 'open' | 'half-open';
    bypassed: { get: number; set: number };
    failures: { get: Record<CacheFailure, number>; set: Record<CacheFailure, number> };
  };
}

/** Why a Redis cache operation failed: it timed out, Redis answered an error, or it was not connected. */
export type CacheFailure = 'timeout' | 'error' | 'unavailable';

/** Options of {@link Metrics}. */
export interface MetricsOptions {
  /** How often nvidia-smi is polled (Triton's --metrics-interval-ms; default 2000). */
  intervalMs?: number;
  /** Poll nvidia-smi (default true; it stops by itself where the tool is absent). */
  gpu?: boolean;
}

type Family = [name: string, help: string, type: MetricType, labels: readonly string[], read: (out: Sample[]) => void];

const MV = ['model', 'version'] as const;

/** The process's metrics registry: declarations, readers, and the few counters kept outside VersionStats. */
export class Metrics {
  readonly registry = new Registry();
  /** The model memory budget's counters (evictions, loads on demand). */
  readonly memory = new MemoryMetrics();
  private readonly unrouted = new Float64Array(UNROUTED_REASONS.length);
  private readonly denied = new Float64Array(DENIAL_KINDS.length);
  private readonly rollbacks = new Map<string, number>();
  private readonly stickyMissing = new Map<string, number>();
  /** Resilience counters, keyed by their label values joined with NUL. */
  private readonly transitions = new Map<string, number>();
  private readonly fallbacks = new Map<string, number>();
  private readonly retries = new Map<string, number>();
  private readonly loadSeconds = new KeyedBuckets(LOAD_BUCKETS);
  /** Watchdog hangs per version, kept by its VersionStats so the series lives exactly as long as the crash count's. */
  private readonly workerHangs = new WeakMap<VersionStats, number>();
  private readonly cpu = new CpuUtilization();
  private readonly loop = new EventLoopDelay();
  private readonly gpu: GpuPoller | undefined;

  constructor(
    private readonly sources: MetricsSources,
    options: MetricsOptions = {},
  ) {
    for (const [name, help, type, labels, read] of this.families())
      this.registry.registerMetric(new MetricView(name, help, type, labels, read) as unknown as Metric);
    collectDefaultMetrics({ register: this.registry, prefix: 'infergate_' });
    if (options.gpu !== false) {
      this.gpu = new GpuPoller(options.intervalMs ?? 2000);
      this.gpu.start();
    }
  }

  /** Counts a request that failed before a model version was resolved (unknown model, not ready…). */
  countUnrouted(reason: UnroutedReason): void {
    const i = UNROUTED_REASONS.indexOf(reason);
    this.unrouted[i] = (this.unrouted[i] as number) + 1;
  }

  /** Counts a refused authentication or authorization (the audit trail has the details). */
  countDenied(kind: (typeof DENIAL_KINDS)[number]): void {
    const i = DENIAL_KINDS.indexOf(kind);
    this.denied[i] = (this.denied[i] as number) + 1;
  }

  /** Counts a rollout that ended in a rollback (the RolloutRolledBack alert reads it). */
  countRollback(model: string): void {
    this.rollbacks.set(model, (this.rollbacks.get(model) ?? 0) + 1);
  }

  /** Counts a call of a sticky split that carried no key (it took the weighted draw). */
  countStickyMissing(model: string): void {
    this.stickyMissing.set(model, (this.stickyMissing.get(model) ?? 0) + 1);
  }

  /** Counts a model instance worker the watchdog declared hung (the backend's 'hung' instance event). */
  countWorkerHang(model: string, version: string | number): void {
    const s = this.sources.stats.peek(model, version);
    if (s) this.workerHangs.set(s, (this.workerHangs.get(s) ?? 0) + 1);
  }

  /** Counts a circuit breaker's change of state. */
  countBreakerTransition(model: string, version: number, to: string): void {
    bump(this.transitions, `${model}\0${version}\0${to}`);
  }

  /** Counts an answer a fallback step gave (`step`: version:N, model:NAME, default). */
  countFallback(model: string, step: string): void {
    bump(this.fallbacks, `${model}\0${step}`);
  }

  /** Counts an internal retry the retry budget allowed or denied. */
  countRetry(model: string, allowed: boolean): void {
    bump(this.retries, `${model}\0${allowed ? 'allowed' : 'denied'}`);
  }

  /** Records a finished load: per-model histogram (the per-version gauge lives in VersionStats). */
  modelLoaded(model: string, seconds: number): void {
    this.loadSeconds.observe(model, seconds);
  }

  /** The text exposition (format 0.0.4). */
  exposition(): Promise<string> {
    return this.registry.metrics();
  }

  /** Content-Type of the exposition. */
  get contentType(): string {
    return this.registry.contentType;
  }

  /** Stops the samplers (event-loop monitor, GPU poller). */
  close(): void {
    this.loop.stop();
    this.gpu?.stop();
  }

  private perVersion(read: (s: VersionStats, labels: Labels, out: Sample[]) => void): (out: Sample[]) => void {
    return (out) => {
      for (const s of this.sources.stats.all()) read(s, { model: s.model, version: s.version }, out);
    };
  }

  private total(pick: (t: ReturnType<VersionStats['totals']>) => number): (out: Sample[]) => void {
    return this.perVersion((s, labels, out) => out.push({ labels, value: pick(s.totals()) }));
  }

  private gpuGauge(pick: (g: GpuReading) => number | undefined): (out: Sample[]) => void {
    return (out) => {
      for (const g of this.gpu?.readings() ?? []) {
        const value = pick(g);
        if (value !== undefined) out.push({ labels: { gpu_uuid: g.uuid }, value });
      }
    };
  }

  private families(): Family[] {
    return [
      ...this.tritonFamilies(),
      ...this.hostFamilies(),
      ...this.infergateFamilies(),
      ...this.cacheFamilies(),
      ...this.memory.families(this.sources.memory, this.sources.workers),
      ...kafkaFamilies(this.sources.kafka),
    ];
  }

  /** Triton's per-version families (protocol.md §E), with Triton's names, labels and units. */
  private tritonFamilies(): Family[] {
    const us = (k: string) => this.total((t) => t.us[k] as number);
    return [
      [
        'nv_inference_request_success',
        'Number of successful inference requests, all batch sizes',
        'counter',
        MV,
        this.total((t) => t.success),
      ],
      [
        'nv_inference_request_failure',
        'Number of failed inference requests, all batch sizes',
        'counter',
        [...MV, 'reason'],
        this.perVersion((s, labels, out) =>
          FAILURE_REASONS.forEach(
            (reason, i) => void out.push({ labels: { ...labels, reason }, value: s.failures[i] as number }),
          ),
        ),
      ],
      [
        'nv_inference_count',
        'Number of inferences performed (a batch of n counts n)',
        'counter',
        MV,
        this.total((t) => t.inferences),
      ],
      [
        'nv_inference_exec_count',
        'Number of model executions performed (batches)',
        'counter',
        MV,
        this.total((t) => t.executions),
      ],
      [
        'nv_inference_request_duration_us',
        'Cumulative inference request duration in microseconds (successful requests)',
        'counter',
        MV,
        us('request'),
      ],
      [
        'nv_inference_queue_duration_us',
        'Cumulative inference queuing duration in microseconds',
        'counter',
        MV,
        us('queue'),
      ],
      [
        'nv_inference_compute_input_duration_us',
        'Cumulative compute input duration in microseconds',
        'counter',
        MV,
        us('compute_input'),
      ],
      [
        'nv_inference_compute_infer_duration_us',
        'Cumulative compute inference duration in microseconds',
        'counter',
        MV,
        us('compute_infer'),
      ],
      [
        'nv_inference_compute_output_duration_us',
        'Cumulative inference compute output duration in microseconds',
        'counter',
        MV,
        us('compute_output'),
      ],
      [
        'nv_inference_pending_request_count',
        'Instantaneous number of pending requests awaiting execution per-model',
        'gauge',
        MV,
        this.perVersion((s, labels, out) => out.push({ labels, value: s.queue?.pending ?? 0 })),
      ],
      [
        'nv_model_load_duration_secs',
        'Model load time in seconds',
        'gauge',
        MV,
        this.perVersion((s, labels, out) => out.push({ labels, value: s.loadSeconds })),
      ],
    ];
  }

  /** Host and GPU gauges (Triton's names; GPU families stay empty without nvidia-smi). */
  private hostFamilies(): Family[] {
    return [
      [
        'nv_cpu_utilization',
        'CPU utilization rate [0.0 - 1.0] since the previous scrape',
        'gauge',
        [],
        (out) => out.push({ labels: {}, value: this.cpu.read() }),
      ],
      [
        'nv_cpu_memory_total_bytes',
        'CPU total memory (RAM), in bytes',
        'gauge',
        [],
        (out) => out.push({ labels: {}, value: hostMemory().total }),
      ],
      [
        'nv_cpu_memory_used_bytes',
        'CPU used memory (RAM), in bytes',
        'gauge',
        [],
        (out) => out.push({ labels: {}, value: hostMemory().used }),
      ],
      [
        'nv_gpu_utilization',
        'GPU utilization rate [0.0 - 1.0)',
        'gauge',
        ['gpu_uuid'],
        this.gpuGauge((g) => g.utilization),
      ],
      [
        'nv_gpu_memory_total_bytes',
        'GPU total memory, in bytes',
        'gauge',
        ['gpu_uuid'],
        this.gpuGauge((g) => g.memoryTotalBytes),
      ],
      [
        'nv_gpu_memory_used_bytes',
        'GPU used memory, in bytes',
        'gauge',
        ['gpu_uuid'],
        this.gpuGauge((g) => g.memoryUsedBytes),
      ],
      ['nv_gpu_power_usage', 'GPU power usage in watts', 'gauge', ['gpu_uuid'], this.gpuGauge((g) => g.powerWatts)],
      [
        'nv_gpu_power_limit',
        'GPU power management limit in watts',
        'gauge',
        ['gpu_uuid'],
        this.gpuGauge((g) => g.powerLimitWatts),
      ],
    ];
  }

  /** Our own families: latency histograms by stage, drops, workers, readiness, event loop. */
  private infergateFamilies(): Family[] {
    const hist = (name: string, pick: (s: VersionStats) => Array<[Labels, Buckets]>) =>
      this.perVersion((s, labels, out) => {
        for (const [extra, b] of pick(s)) pushHistogram(out, name, { ...labels, ...extra }, b);
      });
    return [
      [
        'infergate_request_duration_seconds',
        'End-to-end request latency in the server (decode excluded), by protocol and outcome',
        'histogram',
        [...MV, 'protocol', 'outcome'],
        hist('infergate_request_duration_seconds', (s) =>
          PROTOCOLS.flatMap((protocol, p) =>
            OUTCOMES.map((outcome, o): [Labels, Buckets] => [
              { protocol, outcome },
              s.requestSeconds[p]?.[o] as Buckets,
            ]),
          ),
        ),
      ],
      [
        'infergate_queue_duration_seconds',
        'Time successful requests waited in the scheduler queue',
        'histogram',
        MV,
        hist('infergate_queue_duration_seconds', (s) => [[{}, s.queueSeconds]]),
      ],
      [
        'infergate_execution_duration_seconds',
        'Model execution time per batch, by stage (input copy, inference, output copy)',
        'histogram',
        [...MV, 'stage'],
        hist('infergate_execution_duration_seconds', (s) =>
          STAGES.map((stage, i): [Labels, Buckets] => [{ stage }, s.stageSeconds[i] as Buckets]),
        ),
      ],
      [
        'infergate_batch_size',
        'Size of each executed batch (inferences per model execution)',
        'histogram',
        MV,
        hist('infergate_batch_size', (s) => [[{}, s.batchSizes]]),
      ],
      [
        'infergate_requests_dropped_total',
        'Requests the scheduler refused or dropped before running them, by reason',
        'counter',
        [...MV, 'reason'],
        this.perVersion((s, labels, out) =>
          DROP_REASONS.forEach(
            (reason, i) => void out.push({ labels: { ...labels, reason }, value: s.drops[i] as number }),
          ),
        ),
      ],
      [
        'infergate_unrouted_requests_total',
        'Inference requests that failed before reaching a model version (unknown model, not ready, shutting down)',
        'counter',
        ['reason'],
        (out) =>
          UNROUTED_REASONS.forEach(
            (reason, i) => void out.push({ labels: { reason }, value: this.unrouted[i] as number }),
          ),
      ],
      [
        'infergate_auth_denied_total',
        'Refused authentications (no or bad credentials) and authorizations (scope, model visibility)',
        'counter',
        ['kind'],
        (out) =>
          DENIAL_KINDS.forEach((kind, i) => void out.push({ labels: { kind }, value: this.denied[i] as number })),
      ],
      [
        'infergate_rollout_rollbacks_total',
        'Rollouts that ended in a rollback (the autopilot, a canary that stopped serving, or an inconclusive analysis)',
        'counter',
        ['model'],
        (out) => {
          for (const [model, n] of this.rollbacks) out.push({ labels: { model }, value: n });
        },
      ],
      [
        'infergate_traffic_sticky_key_missing_total',
        'Calls of a sticky traffic split that carried no key and were assigned by the weighted draw',
        'counter',
        ['model'],
        (out) => {
          for (const [model, n] of this.stickyMissing) out.push({ labels: { model }, value: n });
        },
      ],
      [
        'infergate_circuit_breaker_state',
        'Circuit breaker state of each version that has one: 1 for its current state (closed, open, half-open), 0 otherwise',
        'gauge',
        [...MV, 'state'],
        (out) => {
          for (const b of this.sources.breakers?.() ?? [])
            for (const state of ['closed', 'open', 'half-open'])
              out.push({
                labels: { model: b.model, version: String(b.version), state },
                value: b.state === state ? 1 : 0,
              });
        },
      ],
      [
        'infergate_circuit_breaker_transitions_total',
        'Circuit breaker changes of state, by the state entered',
        'counter',
        [...MV, 'state'],
        (out) => unbump(this.transitions, out, ['model', 'version', 'state']),
      ],
      [
        'infergate_fallback_responses_total',
        'Answers given by a step of a model fallback chain instead of its primary, by step',
        'counter',
        ['model', 'step'],
        (out) => unbump(this.fallbacks, out, ['model', 'step']),
      ],
      [
        'infergate_retries_total',
        'Internal retries (fallback steps after a failed execution) the retry budget allowed or denied',
        'counter',
        ['model', 'outcome'],
        (out) => unbump(this.retries, out, ['model', 'outcome']),
      ],
      [
        'infergate_traffic_weight_percent',
        'Share of the calls that name no version each version receives now (traffic splits and rollouts)',
        'gauge',
        MV,
        (out) => {
          for (const [model, p] of Object.entries(this.sources.traffic?.() ?? {}))
            for (const a of p.arms) out.push({ labels: { model, version: String(a.version) }, value: a.weight });
        },
      ],
      [
        'infergate_rate_limiter_degraded',
        '1 while the shared (Redis) rate limiter is unreachable and each replica limits on its own',
        'gauge',
        [],
        (out) => void out.push({ labels: {}, value: this.sources.limiterDegraded?.() ? 1 : 0 }),
      ],
      [
        'infergate_executing_requests',
        'Requests executing on a model instance now',
        'gauge',
        MV,
        this.perVersion((s, labels, out) => out.push({ labels, value: s.queue?.inflight ?? 0 })),
      ],
      [
        'infergate_worker_crashes_total',
        'Model instance worker threads that died',
        'counter',
        MV,
        this.perVersion((s, labels, out) => out.push({ labels, value: s.workerCrashes })),
      ],
      [
        'infergate_worker_hangs_total',
        'Model instance worker threads the watchdog declared hung (then replaced)',
        'counter',
        MV,
        this.perVersion((s, labels, out) => out.push({ labels, value: this.workerHangs.get(s) ?? 0 })),
      ],
      [
        'infergate_worker_restarts_total',
        'Model instance worker threads restarted after a crash',
        'counter',
        MV,
        this.perVersion((s, labels, out) => out.push({ labels, value: s.workerRestarts })),
      ],
      [
        'infergate_model_load_duration_seconds',
        'Time to load a model version (all versions of a model together)',
        'histogram',
        ['model'],
        (out) => pushHistograms(out, 'infergate_model_load_duration_seconds', 'model', this.loadSeconds),
      ],
      [
        'infergate_model_ready',
        'Whether a model version the repository knows is READY (1) or not (0)',
        'gauge',
        MV,
        (out) => {
          for (const v of this.sources.versions?.() ?? [])
            out.push({ labels: { model: v.model, version: v.version }, value: v.ready ? 1 : 0 });
        },
      ],
      [
        'infergate_server_ready',
        'Whether the server reports ready (1) or not (0)',
        'gauge',
        [],
        (out) => out.push({ labels: {}, value: this.sources.serverReady?.() === false ? 0 : 1 }),
      ],
      [
        'infergate_event_loop_delay_seconds',
        'Event-loop delay over the window since the previous scrape (perf_hooks monitorEventLoopDelay): p50, p99, max',
        'gauge',
        ['stat'],
        (out) => {
          const d = this.loop.read();
          out.push(
            { labels: { stat: 'p50' }, value: d.p50 },
            { labels: { stat: 'p99' }, value: d.p99 },
            { labels: { stat: 'max' }, value: d.max },
          );
        },
      ],
    ];
  }

  /**
   * The response cache: Triton's per-version families (only for versions whose model enables
   * response_cache, as Triton does) and the tiers' own counters.
   */
  private cacheFamilies(): Family[] {
    const cached = (pick: (t: ReturnType<VersionStats['totals']>) => number) =>
      this.perVersion((s, labels, out) => {
        if (s.responseCache) out.push({ labels, value: pick(s.totals()) });
      });
    const tiers =
      (pick: (t: CacheTierReading) => number | undefined, only?: CacheTierReading['tier']) => (out: Sample[]) => {
        for (const t of this.sources.cache?.() ?? []) {
          const value = pick(t);
          if ((only === undefined || t.tier === only) && value !== undefined)
            out.push({ labels: only ? {} : { tier: t.tier }, value });
        }
      };
    const redis = () => this.sources.cache?.().find((t) => t.tier === 'redis')?.redis;
    return [
      ['nv_cache_num_hits_per_model', 'Number of cache hits per model', 'counter', MV, cached((t) => t.cacheHits)],
      [
        'nv_cache_num_misses_per_model',
        'Number of cache misses per model',
        'counter',
        MV,
        cached((t) => t.cacheMisses),
      ],
      [
        'nv_cache_hit_duration_per_model',
        'Total cache hit duration per model, in microseconds',
        'counter',
        MV,
        cached((t) => t.us['cache_hit'] as number),
      ],
      [
        'nv_cache_miss_duration_per_model',
        'Total cache miss (lookup and insertion) duration per model, in microseconds',
        'counter',
        MV,
        cached((t) => t.us['cache_miss'] as number),
      ],
      [
        'infergate_cache_lookups_total',
        'Response cache lookups per tier that found a valid entry (hit) or none (miss)',
        'counter',
        ['tier', 'outcome'],
        (out) => {
          for (const t of this.sources.cache?.() ?? [])
            out.push(
              { labels: { tier: t.tier, outcome: 'hit' }, value: t.hits },
              { labels: { tier: t.tier, outcome: 'miss' }, value: t.misses },
            );
        },
      ],
      [
        'infergate_cache_garbage_total',
        "Response cache entries that did not decode (corrupt, foreign, another key's): answered as misses",
        'counter',
        ['tier'],
        tiers((t) => t.garbage),
      ],
      [
        'infergate_cache_stores_total',
        'Response cache entries stored, per tier',
        'counter',
        ['tier'],
        tiers((t) => t.stores),
      ],
      [
        'infergate_cache_entries_too_large_total',
        'Responses not cached because they are larger than the tier takes (memory: the whole budget)',
        'counter',
        ['tier'],
        tiers((t) => t.tooLarge),
      ],
      [
        'infergate_cache_memory_bytes',
        'Bytes the in-process response cache holds',
        'gauge',
        [],
        tiers((t) => t.bytes, 'memory'),
      ],
      [
        'infergate_cache_memory_entries',
        'Entries the in-process response cache holds',
        'gauge',
        [],
        tiers((t) => t.entries, 'memory'),
      ],
      [
        'infergate_cache_redis_connected',
        '1 while the Redis cache tier is connected',
        'gauge',
        [],
        (out) => {
          const r = redis();
          if (r) out.push({ labels: {}, value: r.connected ? 1 : 0 });
        },
      ],
      [
        'infergate_cache_redis_breaker_state',
        "State of the Redis cache tier's circuit breaker: 1 for its current state (closed, open, half-open)",
        'gauge',
        ['state'],
        (out) => {
          const r = redis();
          if (r)
            for (const state of ['closed', 'open', 'half-open'])
              out.push({ labels: { state }, value: r.breaker === state ? 1 : 0 });
        },
      ],
      [
        'infergate_cache_redis_bypassed_total',
        'Redis cache operations skipped because its breaker was open (serving went on without Redis)',
        'counter',
        ['op'],
        (out) => {
          const r = redis();
          if (r) for (const op of ['get', 'set'] as const) out.push({ labels: { op }, value: r.bypassed[op] });
        },
      ],
      [
        'infergate_cache_redis_failures_total',
        'Redis cache operations that failed: timeout, error, or unavailable (not connected)',
        'counter',
        ['op', 'reason'],
        (out) => {
          const r = redis();
          if (!r) return;
          for (const op of ['get', 'set'] as const)
            for (const [reason, value] of Object.entries(r.failures[op])) out.push({ labels: { op, reason }, value });
        },
      ],
    ];
  }
}

function bump(counts: Map<string, number>, key: string): void {
  counts.set(key, (counts.get(key) ?? 0) + 1);
}

/** Samples of a counter map whose keys are label values joined with NUL, in `names` order. */
function unbump(counts: Map<string, number>, out: Sample[], names: readonly string[]): void {
  for (const [key, value] of counts) {
    const parts = key.split('\0');
    const labels: Labels = {};
    names.forEach((n, i) => {
      labels[n] = parts[i] ?? '';
    });
    out.push({ labels, value });
  }
}
