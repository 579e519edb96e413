/**
 * Latency and throughput of model variants, measured the way optimization.md asks: warm up, then
 * interleave the variants round by round (a shared box drifts), pool the samples, report p50/p99.
 */
import type * as ort from 'onnxruntime-node';

export interface LatencyStats {
  batch: number;
  p50Ms: number;
  p99Ms: number;
  meanMs: number;
  /** Samples (rows) per second at this batch size, from the median latency. */
  throughput: number;
  runs: number;
}

export interface MeasureOptions {
  batches: number[];
  rounds?: number;
  itersPerRound?: number;
  warmup?: number;
  /** Called after each round (progress bars). */
  onRound?: (done: number, total: number) => void;
}

/** Percentile (0..100) of a sample by nearest rank. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

/** Measure every session at every batch size, interleaving sessions within each round. */
export async function measureLatency(
  sessions: Record<string, ort.InferenceSession>,
  feedsFor: (batch: number) => Record<string, ort.Tensor>,
  o: MeasureOptions,
): Promise<Record<string, LatencyStats[]>> {
  const rounds = o.rounds ?? 5;
  const iters = o.itersPerRound ?? 30;
  const names = Object.keys(sessions);
  const out: Record<string, LatencyStats[]> = Object.fromEntries(names.map((n) => [n, []]));
  let done = 0;
  for (const batch of o.batches) {
    const feeds = feedsFor(batch);
    for (const n of names) for (let i = 0; i < (o.warmup ?? 5); i++) await sessions[n]!.run(feeds);
    const samples: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
    for (let r = 0; r < rounds; r++) {
      for (const n of names) {
        for (let i = 0; i < iters; i++) {
          const t0 = process.hrtime.bigint();
          await sessions[n]!.run(feeds);
          samples[n]!.push(Number(process.hrtime.bigint() - t0) / 1e6);
        }
      }
      o.onRound?.(++done, rounds * o.batches.length);
    }
    for (const n of names) {
      const s = samples[n]!;
      const p50 = percentile(s, 50);
      out[n]!.push({
        batch,
        p50Ms: p50,
        p99Ms: percentile(s, 99),
        meanMs: s.reduce((a, b) => a + b, 0) / s.length,
        throughput: (batch * 1000) / p50,
        runs: s.length,
      });
    }
  }
  return out;
}
