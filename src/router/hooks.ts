/**
 * Request lifecycle hooks, in the style of fastify's hooks: named events with a small registry and
 * guarded runners. Who fires what, and when:
 *   resolved  — `resolve` stage, once the target version is known
 *   queued    — `schedule` stage, once the scheduler started the job (queue wait is known)
 *   executed  — `schedule` stage, once the model ran and the result is back
 *   answered  — `observe` stage, after the transport wrote the response (CallContext.written),
 *               or as the call returns when the transport does not report writes
 *   failed    — `observe` stage, once for any call that ends in an error (resolved or not)
 * A hook that throws is logged once (then counted silently) and never keeps a call from its
 * answer. Hooks run on the event loop: keep them cheap; heavy work goes elsewhere.
 * The tap: a hook registered with `{ tensors: true }` makes `schedule` copy the inputs before
 * they are transferred to the worker (Exchange.inputsCopy); outputs are in the response. With a
 * predicate instead of `true`, the copy is made only for the calls some tap accepts (a sampling
 * payload log decides there, before anything is copied).
 */
import type { InferError, InferResponse } from '../core/index.js';
import type { Exchange } from './pipeline.js';

/** The events and what each hook receives. */
export interface HookEvents {
  resolved: (x: Exchange) => void;
  queued: (x: Exchange) => void;
  executed: (x: Exchange) => void;
  answered: (x: Exchange, response: InferResponse) => void;
  failed: (x: Exchange, error: InferError) => void;
}

export type HookName = keyof HookEvents;

/** Registration options. */
export interface HookOptions {
  /**
   * The hook reads Exchange.inputsCopy: inputs are copied for every call while it is registered,
   * or, given a predicate, for the calls it returns true for (asked once per call, in `schedule`,
   * before the inputs go to the worker; a predicate that throws counts as false).
   */
  tensors?: boolean | ((x: Exchange) => boolean);
  /** For the log line when it throws. */
  label?: string;
}

interface Registered<K extends HookName> {
  fn: HookEvents[K];
  tensors: boolean;
  /** The predicate form of `tensors`. */
  tap?: (x: Exchange) => boolean;
  label: string;
  failures: number;
}

/** Where a throwing hook is reported (the first time only). */
export type HookErrorReporter = (err: unknown, hook: string, event: HookName) => void;

/** The registry; `run` is the guarded runner the stages call. */
export class Hooks {
  private readonly byName: { [K in HookName]: Array<Registered<K>> } = {
    resolved: [],
    queued: [],
    executed: [],
    answered: [],
    failed: [],
  };
  private taps: Array<Registered<HookName>> = [];

  constructor(private readonly onError: HookErrorReporter = () => {}) {}

  /** Adds a hook; returns the function that removes it. */
  add<K extends HookName>(event: K, fn: HookEvents[K], options: HookOptions = {}): () => void {
    const t = options.tensors;
    const r: Registered<K> = {
      fn,
      tensors: t !== undefined && t !== false,
      tap: typeof t === 'function' ? t : undefined,
      label: options.label ?? event,
      failures: 0,
    };
    // Copy on write: a hook added or removed while an event runs does not disturb that run.
    this.byName[event] = [...this.byName[event], r] as never;
    if (r.tensors) this.taps = [...this.taps, r as Registered<HookName>];
    return () => {
      const list = this.byName[event] as Array<Registered<K>>;
      if (!list.includes(r)) return;
      this.byName[event] = list.filter((x) => x !== r) as never;
      if (r.tensors) this.taps = this.taps.filter((x) => x !== r);
    };
  }

  /** True while any registered hook wants the inputs copied. */
  get wantsTensors(): boolean {
    return this.taps.length > 0;
  }

  /**
   * Whether this call's inputs are copied: asks every predicate tap (each may remember its own
   * decision for the call, so none is skipped), true when any accepts or a tap has no predicate.
   */
  tensorsFor(x: Exchange): boolean {
    let want = false;
    for (const r of this.taps) if (r.tap === undefined || this.accepts(r.tap, r, x)) want = true;
    return want;
  }

  private accepts(tap: (x: Exchange) => boolean, r: Registered<HookName>, x: Exchange): boolean {
    try {
      return tap(x) === true;
    } catch (err) {
      // Reported as the tap's own failure: the stage asking is `schedule`, before `queued`.
      if (r.failures++ === 0) this.report(err, `${r.label} (tensor tap)`, 'queued');
      return false;
    }
  }

  /** True when `event` has hooks (callers skip building arguments otherwise). */
  has(event: HookName): boolean {
    return this.byName[event].length > 0;
  }

  /** Runs every hook of `event`; none can throw past this. */
  run<K extends HookName>(event: K, ...args: Parameters<HookEvents[K]>): void {
    for (const r of this.byName[event] as Array<Registered<K>>) {
      try {
        (r.fn as (...a: Parameters<HookEvents[K]>) => void)(...args);
      } catch (err) {
        if (r.failures++ === 0) this.report(err, r.label, event);
      }
    }
  }

  private report(err: unknown, label: string, event: HookName): void {
    try {
      this.onError(err, label, event);
    } catch {
      // Nothing left to report to.
    }
  }
}
