import type { LatencyObjectiveSpec } from '../core/index.js';
import { type BatchConfig, makeBatchConfig } from './batch-config.js';
import {
  admitUnderSlo,
  initialSloState,
  observeExecution,
  observeLatencies,
  planSlo,
  queueBudgetMs,
  type SloObjective,
  type SloPlan,
  type SloState,
} from './slo-controller.js';

/**
 * The driver's side of latency-objective batching: holds the controller's state and current plan
 * (slo-controller.ts decides everything) and turns the plan into the decision's BatchConfig.
 */
export class SloMode {
  readonly objective: SloObjective;
  private state: SloState = initialSloState();
  private plan: SloPlan;
  private current: BatchConfig;

  constructor(
    spec: LatencyObjectiveSpec,
    private readonly model: BatchConfig,
  ) {
    this.objective = { p99Ms: spec.p99Us / 1000, windowRequests: spec.windowRequests };
    this.plan = planSlo(this.state, this.objective, model.maxBatchSize);
    this.current = this.toConfig();
  }

  /** The batching config the decision runs with under the current plan. */
  get config(): BatchConfig {
    return this.current;
  }

  /** Whether a new request fits the objective behind `unitsAhead` queued batch units. */
  admits(unitsAhead: number, batchSize: number, instances: number): boolean {
    return admitUnderSlo(this.plan, this.objective, unitsAhead, batchSize, instances);
  }

  /** Queue wait (ms) after which a request can no longer meet the objective. */
  queueBudgetMs(): number {
    return queueBudgetMs(this.plan, this.objective);
  }

  /** Learns from one finished batch (its size, execution ms, each request's latency) and re-plans. */
  learn(batchSize: number, execMs: number, latencies: readonly number[]): void {
    this.state = observeLatencies(observeExecution(this.state, batchSize, execMs), latencies, this.objective);
    this.plan = planSlo(this.state, this.objective, this.model.maxBatchSize);
    this.current = this.toConfig();
  }

  private toConfig(): BatchConfig {
    // Preferred sizes above the cap cannot form; the rest keep their meaning.
    const cap = this.plan.maxBatchSize;
    const preferred = this.model.preferredBatchSizes.filter((p) => p <= cap);
    return makeBatchConfig(cap, preferred, this.plan.maxQueueDelayMs);
  }
}
