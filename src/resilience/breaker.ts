/**
 * A circuit breaker for one model version: closed → open → half-open → closed (or open again).
 *
 * The decisions are pure functions of a plain snapshot and the time (`admission`, `judge`); the
 * `CircuitBreaker` class only holds the snapshot and the window and applies what they return,
 * vLLM-scheduler style. Who calls what: the router's `breaker` stage asks `admit()` before a call
 * goes to the version's scheduler and reports the call's outcome with `record()` when it settles.
 *
 * Why not cockatiel: its half-open state lets exactly one call through and its policies read the
 * wall clock inside; we want a configurable share of traffic as probes and decisions a test can
 * drive with a manual clock. The state machine is small enough to own.
 *
 * Outcomes: a success (fast enough), a failure (a server-side error, or slower than
 * `slowCallMs`), or neutral (client errors, cancels, queue refusals: they say nothing about the
 * version's health and are not recorded). A call admitted before the breaker changed state
 * (an older epoch) is ignored when it settles: it judged a state that no longer exists.
 */
import type { BreakerSpec } from '../core/model.js';
import { SlidingCounts } from './window.js';

export type BreakerState = 'closed' | 'open' | 'half-open';

/** The breaker's state as plain data; the pure decisions read only this. */
export interface BreakerSnapshot {
  state: BreakerState;
  /** Bumped on every transition: outcomes of calls admitted in another epoch are ignored. */
  epoch: number;
  /** Clock ms the breaker last opened. */
  openedAt: number;
  consecutiveFailures: number;
  /** Calls seen while half-open (admitted or not): every 1/share-th is a probe. */
  halfOpenSeen: number;
  probeSuccesses: number;
}

/** What to do with one call. */
export type Admission =
  | { kind: 'pass' }
  | { kind: 'probe'; enterHalfOpen: boolean }
  | { kind: 'refuse'; retryAfterMs: number };

/** Pure: whether a call at `now` goes through, as a probe, or is refused. */
export function admission(s: Readonly<BreakerSnapshot>, now: number, spec: BreakerSpec): Admission {
  if (s.state === 'closed') return { kind: 'pass' };
  if (s.state === 'open') {
    const left = s.openedAt + spec.openMs - now;
    return left > 0 ? { kind: 'refuse', retryAfterMs: left } : { kind: 'probe', enterHalfOpen: true };
  }
  // Half-open: a deterministic share of calls (seen × share crosses an integer) are probes.
  const seen = s.halfOpenSeen;
  const probe = Math.floor((seen + 1) * spec.halfOpenShare) > Math.floor(seen * spec.halfOpenShare);
  return probe ? { kind: 'probe', enterHalfOpen: false } : { kind: 'refuse', retryAfterMs: 0 };
}

/** The window's view at the time of an outcome. */
export interface WindowView {
  calls: number;
  failures: number;
}

/** Pure: the state a recorded outcome leads to (undefined: stay). `window` already includes it. */
export function judge(
  s: Readonly<BreakerSnapshot>,
  failed: boolean,
  window: WindowView,
  spec: BreakerSpec,
): BreakerState | undefined {
  if (s.state === 'half-open') {
    if (failed) return 'open';
    return s.probeSuccesses + 1 >= spec.halfOpenSuccesses ? 'closed' : undefined;
  }
  if (s.state !== 'closed' || !failed) return undefined;
  if (s.consecutiveFailures + 1 >= spec.consecutiveFailures) return 'open';
  // No traffic, or too little to judge, never opens it (and never divides by zero).
  if (window.calls >= spec.minimumCalls && window.failures / window.calls >= spec.failureRate) return 'open';
  return undefined;
}

/** A call let through; hand it back to `record`. */
export interface BreakerTicket {
  readonly epoch: number;
  readonly probe: boolean;
}

/** Holds one version's snapshot and window; applies the pure decisions above. */
export class CircuitBreaker {
  private readonly s: BreakerSnapshot = {
    state: 'closed',
    epoch: 0,
    openedAt: 0,
    consecutiveFailures: 0,
    halfOpenSeen: 0,
    probeSuccesses: 0,
  };
  private readonly window: SlidingCounts<'calls' | 'failures'>;

  constructor(
    readonly spec: BreakerSpec,
    /** Told every transition (metrics, logs); must not throw. */
    private readonly onTransition: (to: BreakerState) => void = () => {},
  ) {
    this.window = new SlidingCounts(spec.windowMs, ['calls', 'failures']);
  }

  get state(): BreakerState {
    return this.s.state;
  }

  /** Lets the call through (a ticket for `record`) or says how long until probes are tried. */
  admit(now: number): BreakerTicket | { refused: true; retryAfterMs: number } {
    const a = admission(this.s, now, this.spec);
    if (a.kind === 'pass') return { epoch: this.s.epoch, probe: false };
    if (a.kind === 'refuse') {
      if (this.s.state === 'half-open') this.s.halfOpenSeen++;
      return { refused: true, retryAfterMs: a.retryAfterMs };
    }
    if (a.enterHalfOpen) this.transition('half-open', now);
    this.s.halfOpenSeen++;
    return { epoch: this.s.epoch, probe: true };
  }

  /** The outcome of a call it let through: true = success, false = failure, undefined = neutral. */
  record(ticket: BreakerTicket, ok: boolean | undefined, now: number): void {
    if (ok === undefined || ticket.epoch !== this.s.epoch) return;
    const failed = !ok;
    if (this.s.state === 'closed') {
      this.window.add(now, 'calls');
      if (failed) this.window.add(now, 'failures');
    }
    const view = { calls: this.window.sum(now, 'calls'), failures: this.window.sum(now, 'failures') };
    const next = judge(this.s, failed, view, this.spec);
    if (next !== undefined) this.transition(next, now);
    else if (failed) this.s.consecutiveFailures++;
    else {
      this.s.consecutiveFailures = 0;
      if (ticket.probe) this.s.probeSuccesses++;
    }
  }

  private transition(to: BreakerState, now: number): void {
    this.s.state = to;
    this.s.epoch++;
    this.s.consecutiveFailures = 0;
    this.s.halfOpenSeen = 0;
    this.s.probeSuccesses = 0;
    if (to === 'open') this.s.openedAt = now;
    if (to === 'closed') this.window.clear();
    this.onTransition(to);
  }
}
