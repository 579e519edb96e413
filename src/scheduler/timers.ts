/** The one-shot timer the driver wakes itself with; injected so tests can fire it by hand. */
export interface Timers {
  set(fn: () => void, ms: number): unknown;
  clear(handle: unknown): void;
}

/** Node's timers, unref'd: a pending wake-up alone must not keep the process alive. */
export const realTimers: Timers = {
  set: (fn, ms) => {
    const t = setTimeout(fn, Math.max(0, ms));
    t.unref?.();
    return t;
  },
  clear: (h) => clearTimeout(h as NodeJS.Timeout),
};

/** Keeps exactly one timer, set for the earliest wake-up a scheduler needs. */
export class WakeTimer {
  private handle: unknown;
  private at = Number.POSITIVE_INFINITY;

  constructor(
    private readonly timers: Timers,
    private readonly fire: () => void,
  ) {}

  /** Sets the timer for `wakeAt` (Clock ms; Infinity = none), `now` being the Clock ms now. */
  arm(wakeAt: number, now: number): void {
    if (wakeAt === this.at) return;
    this.clear();
    this.at = wakeAt;
    if (wakeAt === Number.POSITIVE_INFINITY) return;
    this.handle = this.timers.set(
      () => {
        this.handle = undefined;
        this.at = Number.POSITIVE_INFINITY;
        this.fire();
      },
      Math.ceil(wakeAt - now),
    );
  }

  clear(): void {
    if (this.handle !== undefined) this.timers.clear(this.handle);
    this.handle = undefined;
    this.at = Number.POSITIVE_INFINITY;
  }
}
