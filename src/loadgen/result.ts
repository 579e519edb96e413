/**
 * What a load run measured, and how the measurements of several recorders (one per request
 * class, or one per generator thread) combine into one summary. Pure: no clock, no I/O.
 */
import { type HistogramData, LatencyHistogram } from './histogram.js';

/** Counts of one class of requests in one run (serialisable). */
export interface RecorderData {
  ok: HistogramData;
  /** Error kind (e.g. 'http_503', 'grpc_UNAVAILABLE', 'transport_ECONNRESET') → count. */
  errors: Record<string, number>;
  /** Latencies of failed requests too: a fast 503 and a slow one are different stories. */
  failed: HistogramData;
}

/** Collects the outcomes of the measured requests of one class. */
export class Recorder {
  readonly ok = new LatencyHistogram();
  readonly failed = new LatencyHistogram();
  readonly errors: Record<string, number> = {};

  /** Records one finished request: `error` undefined means success. */
  record(latencyMs: number, error?: string): void {
    if (error === undefined) {
      this.ok.record(latencyMs);
      return;
    }
    this.failed.record(latencyMs);
    this.errors[error] = (this.errors[error] ?? 0) + 1;
  }

  /** Adds another recorder's counts. */
  merge(other: Recorder | RecorderData): void {
    const d = other instanceof Recorder ? other.toData() : other;
    this.ok.merge(d.ok);
    this.failed.merge(d.failed);
    for (const [k, n] of Object.entries(d.errors)) this.errors[k] = (this.errors[k] ?? 0) + n;
  }

  /** Plain data for JSON or postMessage. */
  toData(): RecorderData {
    return { ok: this.ok.toData(), errors: { ...this.errors }, failed: this.failed.toData() };
  }
}

/** Latency quantiles in ms. */
export interface LatencySummary {
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  mean: number;
  min: number;
  max: number;
}

/** The numbers a run reports for one class (or for all requests). */
export interface RunSummary {
  requests: number;
  ok: number;
  errors: Record<string, number>;
  errorCount: number;
  /** Successful requests per second over the measured window. */
  throughput: number;
  /** Successful inferences per second (requests × batch). */
  inferencesPerSec: number;
  latencyMs: LatencySummary;
  /** Latency of failed requests (how fast a rejection is answered); absent when none failed. */
  errorLatencyMs?: LatencySummary;
  /** Successful requests per second within the latency bound. */
  goodput?: { boundMs: number; perSec: number; inferencesPerSec: number };
}

/** Quantile summary of a histogram. */
export function latencySummary(h: LatencyHistogram): LatencySummary {
  return {
    p50: h.quantile(0.5),
    p90: h.quantile(0.9),
    p99: h.quantile(0.99),
    p999: h.quantile(0.999),
    mean: h.mean(),
    min: h.count === 0 ? Number.NaN : h.minMs,
    max: h.count === 0 ? Number.NaN : h.maxMs,
  };
}

/** Summarises a recorder over a measured window of `windowMs`, each request carrying `batch` inferences. */
export function summarize(rec: Recorder, windowMs: number, batch: number, boundMs?: number): RunSummary {
  const okCount = rec.ok.count;
  const errorCount = Object.values(rec.errors).reduce((a, b) => a + b, 0);
  const perSec = (n: number) => (windowMs > 0 ? (n * 1000) / windowMs : 0);
  const s: RunSummary = {
    requests: okCount + errorCount,
    ok: okCount,
    errors: { ...rec.errors },
    errorCount,
    throughput: perSec(okCount),
    inferencesPerSec: perSec(okCount) * batch,
    latencyMs: latencySummary(rec.ok),
  };
  if (rec.failed.count > 0) s.errorLatencyMs = latencySummary(rec.failed);
  if (boundMs !== undefined) {
    const good = perSec(rec.ok.countAtOrBelow(boundMs));
    s.goodput = { boundMs, perSec: good, inferencesPerSec: good * batch };
  }
  return s;
}

/** Merges recorders (e.g. all request classes) into one. */
export function mergeRecorders(parts: Iterable<Recorder | RecorderData>): Recorder {
  const all = new Recorder();
  for (const p of parts) all.merge(p);
  return all;
}

/** The generator's own CPU use over the window: cores busy (1 = one core fully used). */
export function cpuShare(cpu: { user: number; system: number }, windowMs: number): number {
  return windowMs > 0 ? (cpu.user + cpu.system) / 1000 / windowMs : 0;
}
