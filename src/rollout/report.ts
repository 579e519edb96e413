/**
 * The shadow diff report (issue #13 item 3): what `infergate rollout report MODEL` prints, from
 * the shadow comparisons of every replica (their observation rows' `diffs`, summed by
 * `mergeDiffs`) and, when given, each arm's requests and latency. Pure: JSON-able data, and one
 * self-contained HTML page (report-html.ts) a person can read without anything from the network.
 * Inputs are never part of it: the worst calls are named by request id only, to be looked up in
 * the request log (or the payload log, when the model has it on).
 */
import { INCOMPARABLE } from './compare.js';
import { type ArmCounters, addHistogram, emptyPair, type Histogram, type PairDiff } from './observations.js';
import { histogramQuantile } from './stats.js';

export { renderReportHtml } from './report-html.js';

/** Worst calls kept per pair when merging replicas, and in the report overall. */
export const DEFAULT_WORST_K = 20;

export interface LatencySummary {
  count: number;
  /** Interpolated within the histogram's buckets; null without samples. */
  p50Ms: number | null;
  p99Ms: number | null;
  /** A quantile fell past the last bucket: its value is a lower bound. */
  censored: boolean;
}

export interface WorstCall {
  primary: number;
  shadow: number;
  requestId: string;
  /** Largest absolute difference of the call; null when its answers could not be measured (shape, type). */
  diff: number | null;
  at: string;
}

export interface PairReport {
  primary: number;
  shadow: number;
  compared: number;
  disagreed: number;
  /** 1 − disagreed/compared; null before any comparison. */
  agreement: number | null;
  failed: number;
  dropped: number;
  outputs: Array<{ name: string; maxAbs: number; meanAbs: number; calls: number }>;
  shadowLatency: LatencySummary;
  worst: WorstCall[];
}

export interface ArmReport {
  version: string;
  requests: number;
  errors: number;
  errorRate: number | null;
  latency: LatencySummary;
}

export interface ShadowReport {
  model: string;
  generatedAt: string;
  summary: {
    pairs: number;
    compared: number;
    disagreed: number;
    agreement: number | null;
    failed: number;
    dropped: number;
  };
  arms: ArmReport[];
  pairs: PairReport[];
  /** The worst-disagreeing calls over every pair, largest difference first. */
  worst: WorstCall[];
  /** How the numbers were made (tolerance, what is compared). */
  notes: string[];
}

export interface ReportOptions {
  /** ISO time the report is made at (default now). */
  at?: string;
  worstK?: number;
}

const NOTES = [
  'Classifier outputs (float, last dimension > 1) agree when each row has the same top-1 class; other outputs agree when every element is within 1e-3 × max(1, |primary|).',
  'Each output is compared on at most its first 65,536 elements per call (whole rows for classifiers).',
  'Mean abs diff is the mean over compared calls of each call’s mean element difference.',
  'Dropped: shadow calls not sent because the shadow was busy (they never wait behind real traffic). Failed: shadow calls that errored; the client’s answer was never affected.',
  'Inputs are not stored: look the request ids up in the request log, or the payload log where it is on.',
];

/** Sums the comparisons of every replica per (primary, shadow) pair; worst lists merged and cut to `k`. */
export function mergeDiffs(rows: readonly (readonly PairDiff[])[], k = DEFAULT_WORST_K): PairDiff[] {
  const byPair = new Map<string, PairDiff>();
  for (const row of rows)
    for (const d of row) {
      const key = `${d.primary}>${d.shadow}`;
      const acc = byPair.get(key);
      byPair.set(key, acc ? addPair(acc, d) : addPair(emptyPair(d.primary, d.shadow), d));
    }
  const out = [...byPair.values()].sort((a, b) => a.primary - b.primary || a.shadow - b.shadow);
  for (const d of out) d.worst = d.worst.sort((a, b) => b.diff - a.diff).slice(0, Math.max(0, k));
  return out;
}

function addPair(acc: PairDiff, d: PairDiff): PairDiff {
  acc.compared += d.compared;
  acc.disagreed += d.disagreed;
  acc.failed += d.failed;
  acc.dropped += d.dropped;
  for (const [name, o] of Object.entries(d.outputs)) {
    const a = acc.outputs[name] ?? { maxAbs: 0, sumAbs: 0, count: 0 };
    acc.outputs[name] = a;
    a.maxAbs = Math.max(a.maxAbs, o.maxAbs);
    a.sumAbs += o.sumAbs;
    a.count += o.count;
  }
  acc.latency = addHistogram(acc.latency, d.latency);
  acc.worst = [...acc.worst, ...d.worst];
  return acc;
}

/** The report of `model` from its merged comparisons and, when given, its arms' counters (by version). */
export function buildReport(
  model: string,
  rows: readonly PairDiff[],
  arms: Readonly<Record<string, ArmCounters>> = {},
  o: ReportOptions = {},
): ShadowReport {
  const k = o.worstK ?? DEFAULT_WORST_K;
  const pairs = [...rows].sort((a, b) => a.primary - b.primary || a.shadow - b.shadow).map((d) => pairReport(d, k));
  const sum = (f: (p: PairReport) => number) => pairs.reduce((n, p) => n + f(p), 0);
  const compared = sum((p) => p.compared);
  const disagreed = sum((p) => p.disagreed);
  const worst = pairs
    .flatMap((p) => p.worst)
    .sort((a, b) => (b.diff ?? Number.POSITIVE_INFINITY) - (a.diff ?? Number.POSITIVE_INFINITY))
    .slice(0, k);
  return {
    model,
    generatedAt: o.at ?? new Date().toISOString(),
    summary: {
      pairs: pairs.length,
      compared,
      disagreed,
      agreement: rate(compared - disagreed, compared),
      failed: sum((p) => p.failed),
      dropped: sum((p) => p.dropped),
    },
    arms: Object.entries(arms)
      .sort(([a], [b]) => Number(a) - Number(b) || a.localeCompare(b))
      .map(([version, a]) => ({
        version,
        requests: a.requests,
        errors: a.errors,
        errorRate: rate(a.errors, a.requests),
        latency: latencySummary(a.latency),
      })),
    pairs,
    worst,
    notes: NOTES,
  };
}

function pairReport(d: PairDiff, k: number): PairReport {
  return {
    primary: d.primary,
    shadow: d.shadow,
    compared: d.compared,
    disagreed: d.disagreed,
    agreement: rate(d.compared - d.disagreed, d.compared),
    failed: d.failed,
    dropped: d.dropped,
    outputs: Object.entries(d.outputs)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([name, o]) => ({ name, maxAbs: o.maxAbs, meanAbs: o.count ? o.sumAbs / o.count : 0, calls: o.count })),
    shadowLatency: latencySummary(d.latency),
    worst: [...d.worst]
      .sort((a, b) => b.diff - a.diff)
      .slice(0, k)
      .map((w) => ({
        primary: d.primary,
        shadow: d.shadow,
        requestId: w.requestId,
        diff: w.diff >= INCOMPARABLE ? null : w.diff,
        at: w.at,
      })),
  };
}

function rate(x: number, n: number): number | null {
  return n > 0 ? x / n : null;
}

/** p50/p99 of a latency histogram (bucket-interpolated, as Prometheus' histogram_quantile). */
export function latencySummary(h: Histogram): LatencySummary {
  const count = h.counts.reduce((a, b) => a + b, 0);
  const p50 = histogramQuantile(h.bounds, h.counts, 0.5);
  const p99 = histogramQuantile(h.bounds, h.counts, 0.99);
  return {
    count,
    p50Ms: p50?.value ?? null,
    p99Ms: p99?.value ?? null,
    censored: (p50?.censored ?? false) || (p99?.censored ?? false),
  };
}
