import type { LoadedModel } from '../backend/types.js';
import type { ModelVersionSpec } from '../core/index.js';
import { DynamicBatchScheduler } from './dynamic-batch-scheduler.js';
import { FifoScheduler } from './fifo-scheduler.js';
import { SequenceScheduler } from './sequence-scheduler.js';
import type { SchedulerOptions } from './scheduler-core.js';
import type { Scheduler } from './types.js';

/** Options shared by every scheduler kind (FIFO has no queue policy, so it reports only 'deadline' rejections). */
export type CreateSchedulerOptions = SchedulerOptions;

/**
 * The scheduler for a loaded version: the dynamic batcher when the config has dynamic_batching
 * (or our latency_objective, which batches too) and the model batches (max_batch_size > 0), else
 * request-at-a-time FIFO. Priorities and queue policies live inside dynamic_batching, so, as in
 * Triton, they apply only to the batcher. A config with sequence_batching gets the sequence
 * batcher, whatever else it says (Triton's scheduling choice is one of the three).
 */
export function createScheduler(
  spec: Pick<ModelVersionSpec, 'maxBatchSize' | 'batching' | 'latencyObjective' | 'sequence'> &
    Partial<Pick<ModelVersionSpec, 'model' | 'outputs'>>,
  loaded: LoadedModel,
  options: CreateSchedulerOptions = {},
): Scheduler {
  // A concurrent model does its work elsewhere (an ensemble's steps meet their own batchers).
  if (loaded.concurrent === true) return new FifoScheduler(loaded, options);
  if (spec.sequence)
    return new SequenceScheduler(
      { model: spec.model ?? '', maxBatchSize: spec.maxBatchSize, sequence: spec.sequence, outputs: spec.outputs },
      loaded,
      options,
    );
  if (spec.maxBatchSize > 0 && (spec.batching || spec.latencyObjective))
    return new DynamicBatchScheduler(spec, loaded, options);
  return new FifoScheduler(loaded, options);
}
