import {
  type BatchStats,
  type InferStats,
  type ModelStatistics,
  type StatDuration,
  zeroDuration,
} from '../core/index.js';
import { BATCH_BUCKETS, Buckets, LATENCY_BUCKETS } from './histogram.js';

function add(d: StatDuration, ns: number): void {
  d.count++;
  d.ns += BigInt(Math.max(0, Math.round(ns)));
}

function copy(d: StatDuration): StatDuration {
  return { count: d.count, ns: d.ns };
}

/** One execution's stage times in ns, as the backend measured them. */
export interface StageTimes {
  inputNs: number;
  inferNs: number;
  outputNs: number;
}

/** The protocols a request can arrive on (a metric label). */
export const PROTOCOLS = ['http', 'grpc', 'kafka'] as const;
export type Protocol = (typeof PROTOCOLS)[number];

/** A protocol's row of the per-protocol histograms (none given: http). */
function protocolIndex(p: Protocol | undefined): number {
  return p === undefined ? 0 : PROTOCOLS.indexOf(p);
}

/** Triton's failure reasons (nv_inference_request_failure{reason}). */
export const FAILURE_REASONS = ['REJECTED', 'CANCELED', 'BACKEND', 'OTHER'] as const;
export type FailureReason = (typeof FAILURE_REASONS)[number];

/** Request outcomes of infergate_request_duration_seconds: success or a failure reason. */
export const OUTCOMES = ['success', 'rejected', 'canceled', 'backend', 'other'] as const;
export type Outcome = (typeof OUTCOMES)[number];

/** Why the scheduler dropped a request before it ran. */
export const DROP_REASONS = ['queue_full', 'queue_timeout', 'shed', 'cancelled', 'deadline'] as const;
export type DropReason = (typeof DROP_REASONS)[number];

/** Execution stages of infergate_execution_duration_seconds. */
export const STAGES = ['input', 'infer', 'output'] as const;

/** What the pending/executing gauges read: the version's scheduler, structurally. */
export interface QueueSource {
  readonly pending: number;
  readonly inflight: number;
}

/**
 * Every counter of one model version: the statistics extension's numbers (protocol.md §B.4) and
 * the histograms and counters the Prometheus families read at scrape time (metrics.ts). Each
 * event updates both here, in one method, so /stats and /metrics never disagree.
 */
export class VersionStats {
  private inferenceCount = 0;
  private executionCount = 0;
  private lastInference = 0;
  private readonly stats: InferStats = {
    success: zeroDuration(),
    fail: zeroDuration(),
    queue: zeroDuration(),
    compute_input: zeroDuration(),
    compute_infer: zeroDuration(),
    compute_output: zeroDuration(),
    cache_hit: zeroDuration(),
    cache_miss: zeroDuration(),
  };
  private readonly batches = new Map<number, BatchStats>();
  /** Failures by FAILURE_REASONS index. */
  readonly failures = new Float64Array(FAILURE_REASONS.length);
  /** Scheduler drops by DROP_REASONS index. */
  readonly drops = new Float64Array(DROP_REASONS.length);
  /** Request latency, seconds, by [protocol index][outcome index]. */
  readonly requestSeconds: Buckets[][] = PROTOCOLS.map(() => OUTCOMES.map(() => new Buckets(LATENCY_BUCKETS)));
  readonly queueSeconds = new Buckets(LATENCY_BUCKETS);
  /** Per-execution stage times, seconds, by STAGES index. */
  readonly stageSeconds: Buckets[] = STAGES.map(() => new Buckets(LATENCY_BUCKETS));
  readonly batchSizes = new Buckets(BATCH_BUCKETS);
  workerCrashes = 0;
  workerRestarts = 0;
  /** Seconds the last load of this version took (nv_model_load_duration_secs). */
  loadSeconds = 0;
  /** The version's model enables response_cache and the server has a cache: nv_cache_* series exist. */
  responseCache = false;
  queue: QueueSource | undefined;

  constructor(
    readonly model: string,
    readonly version: string,
  ) {}

  /** Records a successful request: end-to-end and queue time, and its share of the execution. */
  success(wallMs: number, requestNs: number, queueNs: number, batchSize: number, t: StageTimes, p?: Protocol): void {
    this.lastInference = wallMs;
    this.inferenceCount += batchSize;
    add(this.stats.success, requestNs);
    add(this.stats.queue, queueNs);
    add(this.stats.compute_input, t.inputNs);
    add(this.stats.compute_infer, t.inferNs);
    add(this.stats.compute_output, t.outputNs);
    (this.requestSeconds[protocolIndex(p)] as Buckets[])[0]?.observe(requestNs / 1e9);
    this.queueSeconds.observe(queueNs / 1e9);
  }

  /**
   * Records a request answered without running the model (a response-cache hit, a configured
   * default answer): Triton counts it in success and queue, not in inference_count.
   */
  servedWithoutRun(wallMs: number, requestNs: number, p?: Protocol): void {
    this.lastInference = wallMs;
    add(this.stats.success, requestNs);
    add(this.stats.queue, 0);
    (this.requestSeconds[protocolIndex(p)] as Buckets[])[0]?.observe(requestNs / 1e9);
  }

  /** Records a response-cache lookup: a hit's duration, or a miss's (lookup and insertion). */
  cacheLookup(hit: boolean, ns: number): void {
    add(hit ? this.stats.cache_hit : this.stats.cache_miss, ns);
  }

  /** Records one model execution of `batchSize` inferences. */
  execution(batchSize: number, t: StageTimes): void {
    this.executionCount++;
    let b = this.batches.get(batchSize);
    if (!b) {
      b = {
        batch_size: batchSize,
        compute_input: zeroDuration(),
        compute_infer: zeroDuration(),
        compute_output: zeroDuration(),
      };
      this.batches.set(batchSize, b);
    }
    add(b.compute_input, t.inputNs);
    add(b.compute_infer, t.inferNs);
    add(b.compute_output, t.outputNs);
    this.batchSizes.observe(batchSize);
    this.stageSeconds[0]?.observe(t.inputNs / 1e9);
    this.stageSeconds[1]?.observe(t.inferNs / 1e9);
    this.stageSeconds[2]?.observe(t.outputNs / 1e9);
  }

  /** Records a failed request (reason defaults to OTHER). */
  failure(wallMs: number, requestNs: number, reason: FailureReason = 'OTHER', p?: Protocol): void {
    this.lastInference = wallMs;
    add(this.stats.fail, requestNs);
    const i = FAILURE_REASONS.indexOf(reason);
    this.failures[i] = (this.failures[i] as number) + 1;
    (this.requestSeconds[protocolIndex(p)] as Buckets[])[i + 1]?.observe(requestNs / 1e9);
  }

  /** Records a request the scheduler refused or dropped before it ran. */
  dropped(reason: DropReason): void {
    const i = DROP_REASONS.indexOf(reason);
    this.drops[i] = (this.drops[i] as number) + 1;
  }

  /** Cumulative counters Triton's nv_* families expose (µs from the same ns sums as /stats). */
  totals(): {
    success: number;
    inferences: number;
    executions: number;
    cacheHits: number;
    cacheMisses: number;
    us: Record<string, number>;
  } {
    const s = this.stats;
    const us = (d: StatDuration) => Number(d.ns / 1000n);
    return {
      success: s.success.count,
      inferences: this.inferenceCount,
      executions: this.executionCount,
      cacheHits: s.cache_hit.count,
      cacheMisses: s.cache_miss.count,
      us: {
        cache_hit: us(s.cache_hit),
        cache_miss: us(s.cache_miss),
        request: us(s.success),
        queue: us(s.queue),
        compute_input: us(s.compute_input),
        compute_infer: us(s.compute_infer),
        compute_output: us(s.compute_output),
      },
    };
  }

  /** A deep copy in the extension's shape. */
  snapshot(): ModelStatistics {
    const s = this.stats;
    return {
      name: this.model,
      version: this.version,
      last_inference: this.lastInference,
      inference_count: this.inferenceCount,
      execution_count: this.executionCount,
      inference_stats: {
        success: copy(s.success),
        fail: copy(s.fail),
        queue: copy(s.queue),
        compute_input: copy(s.compute_input),
        compute_infer: copy(s.compute_infer),
        compute_output: copy(s.compute_output),
        cache_hit: copy(s.cache_hit),
        cache_miss: copy(s.cache_miss),
      },
      batch_stats: [...this.batches.values()]
        .sort((a, b) => a.batch_size - b.batch_size)
        .map((b) => ({
          batch_size: b.batch_size,
          compute_input: copy(b.compute_input),
          compute_infer: copy(b.compute_infer),
          compute_output: copy(b.compute_output),
        })),
      memory_usage: [],
    };
  }
}
