/**
 * SLO-driven batching (infergate's own `latency_objective`, issue 3 item 6) as pure functions.
 * From measured execution times (an EWMA per batch size) it picks the batch-size cap and queue
 * delay with the highest throughput whose predicted worst latency fits the objective, and it
 * corrects itself with the measured p99: a miss shrinks the share of the objective it plans
 * with (headroom), a comfortable margin grows it back. When even that cannot hold, admission
 * sheds: a request is refused when its predicted latency (the work queued at its own and higher
 * priority levels ahead of it) exceeds the objective, so the lowest priority is shed first.
 *
 * Latency model (per instance, one batch at a time): a request may wait for the batch running
 * now, then the queue delay, then runs in its own batch: worst ≈ delay + 2·exec(cap).
 */

/** The objective: p99 end-to-end (queue + execution) latency, and how many requests measure it. */
export interface SloObjective {
  p99Ms: number;
  windowRequests: number;
}

/** Everything the controller has learned; replaced, never mutated. */
export interface SloState {
  /** EWMA execution ms by batch size (only sizes seen so far). */
  readonly execMs: Readonly<Record<number, number>>;
  /** The most recent end-to-end latencies in ms, oldest first (at most windowRequests). */
  readonly latencies: readonly number[];
  /** Latencies observed since the headroom was last adjusted. */
  readonly sinceAdjust: number;
  /** Share of the objective the plan aims at, in [MIN_HEADROOM, 1]. */
  readonly headroom: number;
}

/** What the batcher runs with now. */
export interface SloPlan {
  maxBatchSize: number;
  maxQueueDelayMs: number;
  /** Predicted execution ms of a batch at the cap (0 while nothing is measured). */
  execMs: number;
}

export const MIN_HEADROOM = 0.2;
const EXEC_ALPHA = 0.3;
const HEADROOM_DOWN = 0.8;
const HEADROOM_UP = 1.05;
/** Measured p99 below this share of the objective counts as a comfortable margin. */
const COMFORT = 0.7;

/** A controller that knows nothing yet. */
export function initialSloState(): SloState {
  return { execMs: {}, latencies: [], sinceAdjust: 0, headroom: 0.8 };
}

/** Folds one execution time for one batch size into the EWMA. */
export function observeExecution(state: SloState, batchSize: number, ms: number): SloState {
  if (!(ms >= 0) || batchSize < 1) return state;
  const old = state.execMs[batchSize];
  const next = old === undefined ? ms : old + EXEC_ALPHA * (ms - old);
  return { ...state, execMs: { ...state.execMs, [batchSize]: next } };
}

/** Records one end-to-end latency (see observeLatencies). */
export function observeLatency(state: SloState, ms: number, objective: SloObjective): SloState {
  return observeLatencies(state, [ms], objective);
}

/**
 * Records the end-to-end latencies of one batch's requests; once a full window is measured and
 * a quarter window has passed since the last adjustment, adjusts the headroom from the p99.
 */
export function observeLatencies(state: SloState, ms: readonly number[], objective: SloObjective): SloState {
  const window = Math.max(1, objective.windowRequests);
  const latencies = [...state.latencies, ...ms].slice(-window);
  const sinceAdjust = state.sinceAdjust + ms.length;
  if (latencies.length < window || sinceAdjust < Math.max(1, Math.floor(window / 4)))
    return { ...state, latencies, sinceAdjust };
  const p99 = percentile(latencies, 0.99);
  let headroom = state.headroom;
  if (p99 > objective.p99Ms) headroom = Math.max(MIN_HEADROOM, headroom * HEADROOM_DOWN);
  else if (p99 < COMFORT * objective.p99Ms) headroom = Math.min(1, headroom * HEADROOM_UP);
  return { ...state, latencies, sinceAdjust: 0, headroom };
}

/** The q-quantile (nearest rank) of a list of numbers; 0 for an empty list. */
export function percentile(values: readonly number[], q: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

/**
 * Estimated execution ms at batch size b: measured; else interpolated between the nearest
 * measured sizes; above the largest, extended along the line through the two largest (slope >= 0),
 * or with one point by sqrt scaling — optimistic on purpose, so larger sizes get tried and then
 * measured; below the smallest, the smallest's time (smaller batches are not slower).
 * Undefined when nothing is measured.
 */
export function estimateExecMs(
  execMs: Readonly<Record<number, number>>,
  b: number,
  sizes: readonly number[] = measuredSizes(execMs),
): number | undefined {
  const known = execMs[b];
  if (known !== undefined) return known;
  if (sizes.length === 0) return undefined;
  const hiIdx = sizes.findIndex((k) => k > b);
  if (hiIdx === 0) return execMs[sizes[0]!]!;
  if (hiIdx > 0) return onLine(execMs, sizes[hiIdx - 1]!, sizes[hiIdx]!, b);
  const top = sizes[sizes.length - 1]!;
  if (sizes.length === 1) return execMs[top]! * Math.sqrt(b / top);
  return Math.max(execMs[top]!, onLine(execMs, sizes[sizes.length - 2]!, top, b));
}

/** The measured batch sizes, ascending. */
export function measuredSizes(execMs: Readonly<Record<number, number>>): number[] {
  return Object.keys(execMs)
    .map(Number)
    .sort((x, y) => x - y);
}

function onLine(execMs: Readonly<Record<number, number>>, x0: number, x1: number, b: number): number {
  const y0 = execMs[x0]!;
  return y0 + ((execMs[x1]! - y0) * (b - x0)) / (x1 - x0);
}

/**
 * The plan: among batch sizes up to the model's max (and at most twice the largest measured one,
 * so larger sizes are explored step by step), the one with the best predicted throughput b/exec(b)
 * whose worst latency 2·exec(b) fits headroom·objective; the slack left becomes the queue delay
 * (capped at one execution time: waiting longer cannot fill a batch any better than running).
 * Nothing measured yet: cap at the model's max with no delay, so real sizes get measured.
 */
export function planSlo(state: SloState, objective: SloObjective, modelMaxBatch: number): SloPlan {
  const sizes = measuredSizes(state.execMs);
  if (sizes.length === 0) return { maxBatchSize: modelMaxBatch, maxQueueDelayMs: 0, execMs: 0 };
  const budget = objective.p99Ms * state.headroom;
  const limit = Math.min(modelMaxBatch, 2 * sizes[sizes.length - 1]!);
  let best: { b: number; e: number } | undefined;
  for (let b = 1; b <= limit; b++) {
    const e = estimateExecMs(state.execMs, b, sizes)!;
    if (2 * e > budget) continue;
    // A measured 0 ms (coarse clocks) must not make every size look infinitely fast.
    if (!best || b / Math.max(e, 1e-6) > best.b / Math.max(best.e, 1e-6)) best = { b, e };
  }
  if (!best) return { maxBatchSize: 1, maxQueueDelayMs: 0, execMs: estimateExecMs(state.execMs, 1, sizes)! };
  return { maxBatchSize: best.b, maxQueueDelayMs: Math.max(0, Math.min(budget - 2 * best.e, best.e)), execMs: best.e };
}

/**
 * Admission under the objective: predicted latency of a new request = the batch running now, the
 * batches needed for the work ahead of it (queued units at its level and above, plus its own)
 * spread over the instances, each exec(cap) long. Admit when that fits the objective.
 * With nothing queued ahead a request is always admitted: shedding it cannot help anyone, and
 * without executions the time estimates could never recover from a pessimistic burst.
 */
/**
 * How long (ms) a request may wait in the queue and still finish within the objective: the
 * objective minus one batch's predicted execution. Infinity until an execution was measured.
 */
export function queueBudgetMs(plan: SloPlan, objective: SloObjective): number {
  return plan.execMs > 0 ? Math.max(0, objective.p99Ms - plan.execMs) : Number.POSITIVE_INFINITY;
}

export function admitUnderSlo(
  plan: SloPlan,
  objective: SloObjective,
  unitsAhead: number,
  batchSize: number,
  instances: number,
): boolean {
  if (plan.execMs <= 0 || unitsAhead === 0) return true;
  const batches = Math.ceil((unitsAhead + batchSize) / Math.max(1, plan.maxBatchSize));
  const rounds = Math.ceil(batches / Math.max(1, instances));
  return (rounds + 1) * plan.execMs <= objective.p99Ms;
}
