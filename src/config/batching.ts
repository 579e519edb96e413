import type { DynamicBatchingSpec, LatencyObjectiveSpec, QueuePolicySpec } from '../core/model.js';
import { type ModelConfig, type ModelQueuePolicy, ModelQueuePolicy_TimeoutAction } from '../gen/model_config_pb.js';

function queuePolicy(p: ModelQueuePolicy | undefined): QueuePolicySpec {
  return {
    timeoutAction: p?.timeoutAction === ModelQueuePolicy_TimeoutAction.DELAY ? 'DELAY' : 'REJECT',
    defaultTimeoutUs: Number(p?.defaultTimeoutMicroseconds ?? 0n),
    allowTimeoutOverride: p?.allowTimeoutOverride ?? false,
    maxQueueSize: p?.maxQueueSize ?? 0,
  };
}

/** The plain dynamic batching settings of a normalized config, or undefined when it has none. */
export function batchingSpec(cfg: ModelConfig): DynamicBatchingSpec | undefined {
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
  };
}

/** infergate's own latency objective section, or undefined. */
export function latencyObjectiveSpec(cfg: ModelConfig): LatencyObjectiveSpec | undefined {
  const lo = cfg.latencyObjective;
  if (!lo || lo.p99Microseconds === 0n) return undefined;
  return { p99Us: Number(lo.p99Microseconds), windowRequests: Number(lo.windowRequests) || 1000 };
}
