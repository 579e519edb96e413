import { DEFAULT_BATCHING, DynamicBatchScheduler } from '../../../src/scheduler/dynamic-batch-scheduler.js';
import { schedulerContract } from '../../contract/scheduler.contract.js';

// The smallest batching config: `dynamic_batching {}` on a model that batches.
schedulerContract(
  'DynamicBatchScheduler',
  (loaded, options) => new DynamicBatchScheduler({ maxBatchSize: 4, batching: DEFAULT_BATCHING }, loaded, options),
);
