/**
 * Swept magnitude pruning guarded by the accuracy check: prune at each sparsity, measure the loss
 * against the original on the validation rows, and keep the highest sparsity within the budget.
 * Without fine-tuning (no training runtime here) accuracy falls off a cliff past some sparsity, which
 * is why the sweep, not a fixed number, decides.
 */
import { createSession, type InferenceSession } from '../measure/ort.js';
import type { ModelProto } from '../../gen/onnx-ml_pb.js';
import { type AccuracyLoss, accuracyLoss } from '../measure/accuracy-budget.js';
import { type AccuracyStats, compareOnSet } from '../measure/evaluate.js';
import type { ValidationSet } from '../data/validation-set.js';
import { encodeModel } from '../model/io.js';
import { type ChannelStats, convChannelStats } from './conv-stats.js';
import { pruneStructured } from './structured.js';
import { compressedSize, type PruneResult, pruneUnstructured } from './unstructured.js';

export type PruneMethod = 'structured' | 'unstructured';

export interface SweepOptions {
  method: PruneMethod;
  sparsities: number[];
  /** Largest acceptable loss (fraction). */
  budget: number;
  baseDir?: string;
  excludeNodes?: string[];
  /** Structured only: keep a multiple of this many Conv channels (conv.ts; default 8). */
  channelMultiple?: number;
  /** Structured only: measured Conv channel statistics (the sweep measures them on its rows). */
  channelStats?: ChannelStats;
  threads?: number;
  onProgress?: (stage: string, done: number, total: number) => void;
}

export interface SweepPoint extends AccuracyLoss {
  sparsity: number;
  accuracy: AccuracyStats;
  sizeBytes: number;
  gzipBytes: number;
  prunedParams: number;
  totalParams: number;
  withinBudget: boolean;
}

export interface SweepResult {
  points: SweepPoint[];
  /** The highest sparsity within budget, with its pruned model; undefined when none fits. */
  chosen?: { point: SweepPoint; result: PruneResult };
}

/** Prune with one method at one sparsity. */
export function pruneModel(
  model: ModelProto,
  method: PruneMethod,
  sparsity: number,
  o: Partial<SweepOptions> = {},
): PruneResult {
  const opts = { baseDir: o.baseDir, excludeNodes: o.excludeNodes };
  if (method === 'unstructured') return pruneUnstructured(model, sparsity, opts);
  return pruneStructured(model, sparsity, { ...opts, channelMultiple: o.channelMultiple, stats: o.channelStats });
}

/** Sweep sparsities in ascending order and pick the highest one within the budget. */
export async function sweepPruning(model: ModelProto, set: ValidationSet, o: SweepOptions): Promise<SweepResult> {
  const sparsities = [...new Set(o.sparsities)].sort((a, b) => a - b);
  // Channel statistics come from the validation rows too: means over many positions, not a fit to them.
  const channelStats =
    o.method === 'structured' && !o.channelStats
      ? await convChannelStats(model, set, { threads: o.threads })
      : o.channelStats;
  const original = await createSession(model, { threads: o.threads ?? 1 });
  const points: SweepPoint[] = [];
  let chosen: SweepResult['chosen'];
  try {
    for (const [i, s] of sparsities.entries()) {
      const result = pruneModel(model, o.method, s, { ...o, channelStats });
      const point = await measurePoint(original, result, set, s, o.budget, o.threads ?? 1);
      points.push(point);
      if (point.withinBudget) chosen = { point, result };
      o.onProgress?.('prune sweep', i + 1, sparsities.length);
    }
  } finally {
    await original.release();
  }
  return chosen ? { points, chosen } : { points };
}

async function measurePoint(
  original: InferenceSession,
  r: PruneResult,
  set: ValidationSet,
  sparsity: number,
  budget: number,
  threads: number,
): Promise<SweepPoint> {
  const session = await createSession(r.model, { threads });
  try {
    const accuracy = await compareOnSet(original, session, set);
    const loss = accuracyLoss(accuracy);
    return {
      sparsity,
      ...loss,
      accuracy,
      sizeBytes: encodeModel(r.model).length,
      gzipBytes: compressedSize(r.model),
      prunedParams: r.prunedParams,
      totalParams: r.totalParams,
      withinBudget: loss.loss <= budget,
    };
  } finally {
    await session.release();
  }
}

/** Parse "0.1:0.9:0.1" (from:to:step) or "0.3,0.5,0.7" into sparsities. */
export function parseSparsities(text: string): number[] {
  const range = /^([\d.]+):([\d.]+):([\d.]+)$/.exec(text.trim());
  if (range) {
    const [from, to, step] = range.slice(1).map(Number) as [number, number, number];
    if (!(step > 0)) throw new Error(`sparsity step must be positive: "${text}"`);
    const out: number[] = [];
    for (let k = 0; from + k * step <= to + 1e-9; k++) out.push(Number((from + k * step).toFixed(6)));
    return out;
  }
  const list = text.split(',').map((s) => Number(s.trim()));
  if (list.some((v) => !(v >= 0 && v < 1))) throw new Error(`sparsities must be in [0, 1): "${text}"`);
  return list;
}
