/**
 * Settling a finished batch, as a pure step: from each request's batch size and enqueue time,
 * the backend's ExecResult and the batch's start and end (Clock ms), what every request is
 * answered and what the batch measured. scheduler-core.ts only applies the result.
 */
import type { ExecResult } from '../backend/types.js';
import type { InferError } from '../core/index.js';
import { internalError } from './errors.js';
import { splitOutputs } from './split.js';
import type { JobResult } from './types.js';

/** One request of the batch, in batch order. */
export interface SettleItem {
  id: number;
  batchSize: number;
  /** Clock ms the request was accepted. */
  enqueuedAt: number;
}

/** What one execution measured (for the batcher's tuning and statistics). */
export interface BatchStats {
  /** Total batch size executed (the sum of the requests' batch sizes). */
  batchSize: number;
  execMs: number;
  /** Each request's end-to-end latency (queue + execution), in batch order. */
  latenciesMs: number[];
}

/** What to answer: every request is in exactly one of `answers` and `failures`. */
export interface Settlement {
  answers: Array<{ id: number; result: JobResult }>;
  failures: Array<{ id: number; error: InferError }>;
  /** The internal error behind `failures`, to report once (set whenever `failures` is not empty). */
  fault?: unknown;
  stats: BatchStats;
}

/** Hands each request its rows of the outputs; outputs that do not split fail the whole batch. */
export function settleBatch(
  items: readonly SettleItem[],
  r: ExecResult,
  startedAt: number,
  endedAt: number,
): Settlement {
  const sizes = items.map((it) => it.batchSize);
  const total = sizes.reduce((a, b) => a + b, 0);
  const stats: BatchStats = {
    batchSize: total,
    execMs: endedAt - startedAt,
    latenciesMs: items.map((it) => endedAt - it.enqueuedAt),
  };
  let parts: ReturnType<typeof splitOutputs>;
  try {
    parts = splitOutputs(r.outputs, sizes);
  } catch (fault) {
    const error = internalError(fault);
    return { answers: [], failures: items.map((it) => ({ id: it.id, error })), fault, stats };
  }
  const answers = items.map((it, i) => ({
    id: it.id,
    result: {
      outputs: parts[i]!,
      timing: r.timing,
      queueNs: Math.round((startedAt - it.enqueuedAt) * 1e6),
      executedBatchSize: total,
    },
  }));
  return { answers, failures: [], stats };
}
