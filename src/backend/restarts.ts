/**
 * Bounded restarts of a model instance whose worker thread died or got stuck, for backends that
 * run instances in worker threads (ort/ and typescript/): one
 * attempt after each delay of the list (its length bounds the attempts), then a 'restart' event,
 * or 'restart-failed' once the last attempt failed. Events never throw into the instance.
 */
import type { InstanceEvent, InstanceRef } from './types.js';

/** Reports `e`; an observer's failure must not break the instance that reports it. */
export function emitSafely(emit: (e: InstanceEvent) => void, e: InstanceEvent): void {
  try {
    emit(e);
  } catch {
    // ignored: see above
  }
}

/** What the restarts of one instance need. */
export interface RestartOptions {
  ref: InstanceRef;
  /** Delays before each attempt, ms. */
  delaysMs: readonly number[];
  /** Starts the instance again; rejects with the reason it could not. */
  start(): Promise<unknown>;
  emit(e: InstanceEvent): void;
  /** True once the instance is being disposed: no more attempts, and a late success is undone. */
  disposed(): boolean;
  /** Undoes a start that succeeded after the instance was disposed. */
  undo(): void;
}

export class Restarts {
  #timer: NodeJS.Timeout | undefined;
  #gaveUp = false;

  constructor(private readonly o: RestartOptions) {}

  /** True after the last attempt failed: the instance stays down. */
  get gaveUp(): boolean {
    return this.#gaveUp;
  }

  /** Starts the attempts after a failure for `reason`. */
  begin(reason: string): void {
    this.#gaveUp = false;
    this.#attempt(0, performance.now(), reason);
  }

  /** Cancels a pending attempt (dispose). */
  cancel(): void {
    clearTimeout(this.#timer);
  }

  #attempt(n: number, since: number, lastReason: string): void {
    const { o } = this;
    if (o.disposed()) return;
    if (n >= o.delaysMs.length) {
      this.#gaveUp = true;
      emitSafely(o.emit, {
        type: 'restart-failed',
        instance: o.ref,
        reason: `gave up after ${n} attempts: ${lastReason}`,
      });
      return;
    }
    this.#timer = setTimeout(() => {
      o.start().then(
        () => {
          if (o.disposed()) o.undo();
          else emitSafely(o.emit, { type: 'restart', instance: o.ref, ms: Math.round(performance.now() - since) });
        },
        (err: unknown) => this.#attempt(n + 1, since, err instanceof Error ? err.message : String(err)),
      );
    }, o.delaysMs[n]);
  }
}
