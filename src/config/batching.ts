import type { DynamicBatchingSpec, LatencyObjectiveSpec, QueuePolicySpec } from '../core/model.js';
import { type ModelConfig, type ModelQueuePolicy, ModelQueuePolicy_TimeoutAction } from '../gen/model_config_pb.js';
import { loadError } from './errors.js';

const TUNING = 'batch_size_tuning';

function queuePolicy(p: ModelQueuePolicy | undefined): QueuePolicySpec {
  return {
    timeoutAction: p?.timeoutAction === ModelQueuePolicy_TimeoutAction.DELAY ? 'DELAY' : 'REJECT',
    defaultTimeoutUs: Number(p?.defaultTimeoutMicroseconds ?? 0n),
    allowTimeoutOverride: p?.allowTimeoutOverride ?? false,
    maxQueueSize: p?.maxQueueSize ?? 0,
  };
}

/**
 * Our `batch_size_tuning` parameter: 'throughput' (measure the cap online) or 'none' (Triton's
 * fixed max_batch_size, the default). Only a model that batches dynamically can be tuned.
 */
function throughputTuning(cfg: ModelConfig): boolean {
  const v = cfg.parameters[TUNING]?.stringValue.trim().toLowerCase() ?? '';
  if (v === '' || v === 'none') return false;
  if (v !== 'throughput')
    throw loadError(cfg.name, `parameter '${TUNING}' must be 'throughput' or 'none', got '${v.slice(0, 40)}'`);
  if (cfg.schedulingChoice.case !== 'dynamicBatching' || cfg.maxBatchSize <= 0)
    throw loadError(cfg.name, `parameter '${TUNING}' needs a dynamic_batching section and max_batch_size > 0`);
  return true;
}

/** The plain dynamic batching settings of a normalized config, or undefined when it has none. */
export function batchingSpec(cfg: ModelConfig): DynamicBatchingSpec | undefined {
  const tuning = throughputTuning(cfg);
  if (cfg.schedulingChoice.case !== 'dynamicBatching') return undefined;
  const db = cfg.schedulingChoice.value;
  const perLevel: Record<number, QueuePolicySpec> = {};
  for (const [level, p] of Object.entries(db.priorityQueuePolicy)) perLevel[Number(level)] = queuePolicy(p);
  return {
    preferredBatchSizes: [...db.preferredBatchSize],
    maxQueueDelayUs: Number(db.maxQueueDelayMicroseconds),
    preserveOrdering: db.preserveOrdering,
    priorityLevels: Number(db.priorityLevels),
    defaultPriorityLevel: Number(db.defaultPriorityLevel),
    defaultQueuePolicy: queuePolicy(db.defaultQueuePolicy),
    priorityQueuePolicy: perLevel,
    ...(tuning ? { throughputTuning: true } : {}),
  };
}

/** infergate's own latency objective section, or undefined. */
export function latencyObjectiveSpec(cfg: ModelConfig): LatencyObjectiveSpec | undefined {
  const lo = cfg.latencyObjective;
  if (!lo || lo.p99Microseconds === 0n) return undefined;
  return { p99Us: Number(lo.p99Microseconds), windowRequests: Number(lo.windowRequests) || 1000 };
}
