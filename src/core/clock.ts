/** Time source injected into every decision function so tests control it. */
export interface Clock {
  /** Monotonic milliseconds (fractional), for durations and deadlines. */
  now(): number;
  /** Wall-clock milliseconds since the epoch, for timestamps shown to users. */
  wallMs(): number;
}

/** The real clock: performance.now() and Date.now(). */
export const systemClock: Clock = {
  now: () => performance.now(),
  wallMs: () => Date.now(),
};
