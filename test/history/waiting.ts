// Small waiting primitives of the harness: the load balancer's gate and the log of the server's hook
// events that a fault waits on.
import type { HookEvent } from './server-process.js';

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Open while the load balancer would send traffic (readiness answered 200). Clients wait on it
 * before each request, as traffic behind a balancer stops when readiness fails.
 */
export class Gate {
  #open = false;
  #waiters: Array<() => void> = [];

  get isOpen(): boolean {
    return this.#open;
  }

  /** Returns true when the state changed. */
  set(open: boolean): boolean {
    if (open === this.#open) return false;
    this.#open = open;
    if (open) {
      const w = this.#waiters;
      this.#waiters = [];
      for (const r of w) r();
    }
    return true;
  }

  /** Resolves true once open, false after `ms`. */
  async waitOpen(ms = Number.POSITIVE_INFINITY): Promise<boolean> {
    if (this.#open) return true;
    let timer: NodeJS.Timeout | undefined;
    const opened = new Promise<boolean>((r) => this.#waiters.push(() => r(true)));
    const timeout =
      ms === Number.POSITIVE_INFINITY
        ? new Promise<boolean>(() => {})
        : new Promise<boolean>((r) => {
            timer = setTimeout(() => r(false), ms);
          });
    try {
      return await Promise.race([opened, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Wakes every waiter (at the end of a run) without opening. */
  release(): void {
    const w = this.#waiters;
    this.#waiters = [];
    for (const r of w) r();
  }
}

/** The server's hook events in arrival order; a fault waits for the one it caused. */
export class HookLog {
  readonly events: HookEvent[] = [];
  #waiters: Array<() => void> = [];

  push(e: HookEvent): void {
    this.events.push(e);
    const w = this.#waiters;
    this.#waiters = [];
    for (const r of w) r();
  }

  /** Index of the next event: pass it to waitFor to see only later events. */
  mark(): number {
    return this.events.length;
  }

  /** The first event at or after `from` matching `pred`, with its index; undefined after `ms`. */
  async waitFor(
    pred: (e: HookEvent) => boolean,
    from: number,
    ms: number,
  ): Promise<{ event: HookEvent; index: number } | undefined> {
    const until = performance.now() + ms;
    for (let i = from; ; ) {
      for (; i < this.events.length; i++) if (pred(this.events[i]!)) return { event: this.events[i]!, index: i };
      const left = until - performance.now();
      if (left <= 0) return undefined;
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.#waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }
}
