import type { LoadedModel } from '../backend/types.js';
import type { ModelVersionSpec } from '../core/index.js';
import { DynamicBatchScheduler, type DynamicBatchSchedulerOptions } from './dynamic-batch-scheduler.js';
import { FifoScheduler } from './fifo-scheduler.js';
import type { Scheduler } from './types.js';

/** Options shared by every scheduler kind (the FIFO scheduler ignores the batching-only ones). */
export type CreateSchedulerOptions = DynamicBatchSchedulerOptions;

/**
 * The scheduler for a loaded version: the dynamic batcher when the config has dynamic_batching
 * (or our latency_objective, which batches too) and the model batches (max_batch_size > 0), else
 * request-at-a-time FIFO. Priorities and queue policies live inside dynamic_batching, so, as in
 * Triton, they apply only to the batcher.
 */
export function createScheduler(
  spec: Pick<ModelVersionSpec, 'maxBatchSize' | 'batching' | 'latencyObjective'>,
  loaded: LoadedModel,
  options: CreateSchedulerOptions = {},
): Scheduler {
  if (spec.maxBatchSize > 0 && (spec.batching || spec.latencyObjective))
    return new DynamicBatchScheduler(spec, loaded, options);
  const { clock, onCancelled, onExecution, onTracedBatch } = options;
  return new FifoScheduler(loaded, { clock, onCancelled, onExecution, onTracedBatch });
}
