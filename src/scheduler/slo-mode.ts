import type { LatencyObjectiveSpec } from '../core/index.js';
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
 * Latency-objective batching's state: the controller's learned state and current plan
 * (slo-controller.ts decides everything). LiveBatchConfig (batch-config.ts) owns one and turns
 * the plan into the decision's BatchConfig.
 */
export class SloMode {
  readonly objective: SloObjective;
  private state: SloState = initialSloState();
  private current: SloPlan;

  constructor(
    spec: LatencyObjectiveSpec,
    private readonly modelMaxBatch: number,
  ) {
    this.objective = { p99Ms: spec.p99Us / 1000, windowRequests: spec.windowRequests };
    this.current = planSlo(this.state, this.objective, modelMaxBatch);
  }

  /** The batch-size cap and queue delay the objective allows now. */
  get plan(): SloPlan {
    return this.current;
  }

  /** Whether a new request fits the objective behind `unitsAhead` queued batch units. */
  admits(unitsAhead: number, batchSize: number, instances: number): boolean {
    return admitUnderSlo(this.current, this.objective, unitsAhead, batchSize, instances);
  }

  /** Queue wait (ms) after which a request can no longer meet the objective. */
  queueBudgetMs(): number {
    return queueBudgetMs(this.current, this.objective);
  }

  /** Learns from one finished batch (its size, execution ms, each request's latency) and re-plans. */
  learn(batchSize: number, execMs: number, latencies: readonly number[]): void {
    this.state = observeLatencies(observeExecution(this.state, batchSize, execMs), latencies, this.objective);
    this.current = planSlo(this.state, this.objective, this.modelMaxBatch);
  }
}
