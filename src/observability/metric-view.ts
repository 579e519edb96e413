/**
 * A Prometheus family whose samples are computed at scrape time from state kept elsewhere
 * (VersionStats, the repository, system readings). It satisfies the part of prom-client's metric
 * protocol its Registry uses (name, get, reset), so it is exposed beside prom-client's own
 * default metrics in one text exposition.
 */
import type { Buckets, KeyedBuckets } from './histogram.js';

export type Labels = Record<string, string>;

/** One exposition line: labels, value, and for histograms the suffixed name. */
export interface Sample {
  labels: Labels;
  value: number;
  metricName?: string;
}

export type MetricType = 'counter' | 'gauge' | 'histogram';

/** A metric family read from a callback. */
export class MetricView {
  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: MetricType,
    readonly labelNames: readonly string[],
    private readonly read: (out: Sample[]) => void,
  ) {}

  /** prom-client's Registry calls this for every scrape. */
  get(): { name: string; help: string; type: MetricType; aggregator: 'sum'; values: Sample[] } {
    const values: Sample[] = [];
    this.read(values);
    return { name: this.name, help: this.help, type: this.type, aggregator: 'sum', values };
  }

  /** State lives elsewhere; nothing to reset. */
  reset(): void {}
}

/** Appends one histogram series (cumulative `_bucket` lines, `_sum`, `_count`) to `out`. */
export function pushHistogram(out: Sample[], name: string, labels: Labels, b: Buckets): void {
  let cumulative = 0;
  for (let i = 0; i < b.bounds.length; i++) {
    cumulative += b.counts[i] as number;
    out.push({ metricName: `${name}_bucket`, labels: { ...labels, le: String(b.bounds[i]) }, value: cumulative });
  }
  out.push({ metricName: `${name}_bucket`, labels: { ...labels, le: '+Inf' }, value: b.count });
  out.push({ metricName: `${name}_sum`, labels, value: b.sum });
  out.push({ metricName: `${name}_count`, labels, value: b.count });
}

/** Appends one histogram series per key of `keyed`, the key as the `label` label. */
export function pushHistograms(out: Sample[], name: string, label: string, keyed: KeyedBuckets): void {
  for (const [key, b] of keyed.entries()) pushHistogram(out, name, { [label]: key }, b);
}
