/**
 * A retry budget (reliability.md R7; Envoy's retry_budget, the SRE book's "retries ≤ 10% of
 * requests"): internal retries — a fallback step taken after the primary executed and failed —
 * are allowed while retries in the last second stay under `ratio` × first attempts in that second,
 * with a floor of `minPerWindow` so a quiet service can still retry at all. When a dependency fails
 * 100%, the extra load it sees is therefore bounded by the ratio, not multiplied by the chain.
 * Who calls what: the fallback stage calls `first()` for every call that reaches it, and
 * `tryRetry()` before each step that re-executes; a false answer means "answer with the failure".
 */
import { SlidingCounts } from './window.js';

export interface RetryBudgetOptions {
  /** Retries allowed per first attempt over the window (default 0.1). */
  ratio?: number;
  /** Retries always allowed per window, whatever the traffic (default 3). */
  minPerWindow?: number;
  /** The window (default 1000 ms). */
  windowMs?: number;
}

export class RetryBudget {
  private readonly counts: SlidingCounts<'first' | 'retry'>;
  private readonly ratio: number;
  private readonly min: number;

  constructor(o: RetryBudgetOptions = {}) {
    this.ratio = o.ratio ?? 0.1;
    this.min = o.minPerWindow ?? 3;
    this.counts = new SlidingCounts(o.windowMs ?? 1000, ['first', 'retry']);
  }

  /** Counts a first attempt. */
  first(now: number): void {
    this.counts.add(now, 'first');
  }

  /** True (and the retry is counted) when one more retry fits the budget at `now`. */
  tryRetry(now: number): boolean {
    const allowed = Math.max(this.min, this.ratio * this.counts.sum(now, 'first'));
    if (this.counts.sum(now, 'retry') + 1 > allowed) return false;
    this.counts.add(now, 'retry');
    return true;
  }
}
