/**
 * The model memory budget's and the worker threads' metrics (docs/memory.md), declared beside
 * metrics.ts (which includes them): the budget and each loaded version's bytes are read from the repository at scrape time;
 * evictions and loads on demand are counted here from the repository's events.
 */
import { KeyedBuckets, LOAD_BUCKETS } from './histogram.js';
import { type MetricType, pushHistograms, type Sample } from './metric-view.js';

/** What the budget families read at scrape time (repository/memory-budget.ts fills it). */
export interface MemoryReading {
  budget: number;
  resident: Array<{ model: string; version: number; bytes: number }>;
}

/** The worker threads that hold sessions (backend/ort: the shared pool and dedicated threads). */
export interface WorkerReading {
  sharedThreads: number;
  dedicatedThreads: number;
  sharedSessions: number;
}

type Family = [name: string, help: string, type: MetricType, labels: readonly string[], read: (out: Sample[]) => void];

export class MemoryMetrics {
  private readonly evictions = new Map<string, number>();
  /** model → [ok, error] */
  private readonly loads = new Map<string, [number, number]>();
  private readonly seconds = new KeyedBuckets(LOAD_BUCKETS);

  /** Counts a version the budget evicted. */
  countEviction(model: string): void {
    this.evictions.set(model, (this.evictions.get(model) ?? 0) + 1);
  }

  /** Records a load on demand: its outcome and, when it succeeded, how long the calls waited for it. */
  onDemandLoad(model: string, ok: boolean, seconds: number): void {
    const counts = this.loads.get(model) ?? [0, 0];
    counts[ok ? 0 : 1]++;
    this.loads.set(model, counts);
    if (ok) this.seconds.observe(model, seconds);
  }

  families(
    read: (() => MemoryReading | undefined) | undefined,
    workers: (() => WorkerReading | undefined) | undefined,
  ): Family[] {
    return [
      [
        'infergate_worker_threads',
        'Worker threads holding model sessions: the shared pool (many small models each) or dedicated (one instance each)',
        'gauge',
        ['pool'],
        (out) => {
          const w = workers?.();
          if (w)
            out.push(
              { labels: { pool: 'shared' }, value: w.sharedThreads },
              { labels: { pool: 'dedicated' }, value: w.dedicatedThreads },
            );
        },
      ],
      [
        'infergate_shared_worker_sessions',
        'Model sessions open on the shared worker pool (docs/memory.md, dense hosting)',
        'gauge',
        [],
        (out) => {
          const w = workers?.();
          if (w) out.push({ labels: {}, value: w.sharedSessions });
        },
      ],
      [
        'infergate_model_memory_budget_bytes',
        'The model memory budget (--model-memory-budget): bytes loaded versions may hold together; absent when unlimited',
        'gauge',
        [],
        (out) => {
          const r = read?.();
          if (r) out.push({ labels: {}, value: r.budget });
        },
      ],
      [
        'infergate_model_resident_bytes',
        'Bytes a loaded version holds (model file plus what warm-up allocated), under a model memory budget',
        'gauge',
        ['model', 'version'],
        (out) => {
          for (const v of read?.()?.resident ?? [])
            out.push({ labels: { model: v.model, version: String(v.version) }, value: v.bytes });
        },
      ],
      [
        'infergate_model_evictions_total',
        'Versions the model memory budget unloaded to make room (least recently used, idle, unpinned)',
        'counter',
        ['model'],
        (out) => {
          for (const [model, value] of this.evictions) out.push({ labels: { model }, value });
        },
      ],
      [
        'infergate_model_ondemand_loads_total',
        'Loads of evicted versions that a call asked for, by outcome (ok, error)',
        'counter',
        ['model', 'outcome'],
        (out) => {
          for (const [model, [ok, error]] of this.loads)
            out.push(
              { labels: { model, outcome: 'ok' }, value: ok },
              { labels: { model, outcome: 'error' }, value: error },
            );
        },
      ],
      [
        'infergate_model_ondemand_load_seconds',
        'How long a load on demand of an evicted version took (calls waited for it), seconds',
        'histogram',
        ['model'],
        (out) => pushHistograms(out, 'infergate_model_ondemand_load_seconds', 'model', this.seconds),
      ],
    ];
  }
}
