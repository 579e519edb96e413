/**
 * Every replica's part of a rollout: count, per arm, the calls of each model with an active
 * rollout step (requests, server-side errors, a latency histogram) from the router's `answered`
 * and `failed` hooks, and publish them, with the shadow comparisons, as this replica's
 * observation row every second. Counting is a few additions on the event loop; publishing is one
 * upsert per model per second and never blocks a call (a failed write is retried next time).
 */
import type { Clock, InferError } from '../core/index.js';
import type { Logger } from '../observability/logger.js';
import type { RegistryStore } from '../registry/types.js';
import type { Hooks } from '../router/hooks.js';
import type { Exchange } from '../router/pipeline.js';
import { type ArmCounters, emptyHistogram, observe, type PairDiff, type ReplicaObservation } from './observations.js';

/** An active rollout step, as the sync last read it. */
export interface ActiveStep {
  model: string;
  rollout: string;
  step: number;
}

/** Where shadow comparisons come from (rollout/shadow.ts). */
export interface ShadowDiffs {
  diffs(model: string): PairDiff[];
  reset(model: string): void;
}

export interface ObserverOptions {
  hooks: Hooks;
  store: Pick<RegistryStore, 'putObservation'>;
  /** This replica's id in the observation rows. */
  replica: string;
  /** The active rollout steps now (from the registry sync's last snapshot). */
  active: () => readonly ActiveStep[];
  shadows?: ShadowDiffs;
  clock: Clock;
  logger: Pick<Logger, 'warn'>;
  publishMs?: number;
}

interface ModelCounters {
  rollout: string;
  step: number;
  arms: Map<number, ArmCounters>;
}

export class RolloutObserver {
  private readonly counters = new Map<string, ModelCounters>();
  private current = new Map<string, ActiveStep>();
  private readonly unhook: Array<() => void> = [];
  private timer: NodeJS.Timeout | undefined;
  private publishing: Promise<void> | undefined;
  private failing = false;

  constructor(private readonly o: ObserverOptions) {
    this.refresh();
    this.unhook.push(
      o.hooks.add('answered', (x) => this.count(x), { label: 'rollout observer' }),
      o.hooks.add('failed', (x, e) => this.count(x, e), { label: 'rollout observer' }),
    );
  }

  start(): void {
    this.timer = setInterval(() => void this.publish(), this.o.publishMs ?? 1000);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    for (const u of this.unhook) u();
    await this.publishing;
  }

  /** Re-reads the active steps; a model whose rollout or step changed starts counting from zero. */
  refresh(): void {
    this.current = new Map(this.o.active().map((a) => [a.model, a]));
    for (const [model, c] of this.counters) {
      const a = this.current.get(model);
      if (!a || a.rollout !== c.rollout || a.step !== c.step) {
        this.counters.delete(model);
        this.o.shadows?.reset(model);
      }
    }
  }

  private count(x: Exchange, error?: InferError): void {
    const model = x.request.model;
    const active = this.current.get(model);
    const version = x.target?.primary.version;
    if (!active || version === undefined) return;
    let c = this.counters.get(model);
    if (!c) {
      c = { rollout: active.rollout, step: active.step, arms: new Map() };
      this.counters.set(model, c);
    }
    let arm = c.arms.get(version);
    if (!arm) {
      arm = { requests: 0, errors: 0, latency: emptyHistogram() };
      c.arms.set(version, arm);
    }
    arm.requests++;
    if (error && error.httpStatus >= 500) arm.errors++;
    observe(arm.latency, (x.endedAt ?? this.o.clock.now()) - x.startedAt);
  }

  /** One row per model with an active step; runs one at a time. */
  publish(): Promise<void> {
    this.publishing ??= this.publishAll().finally(() => {
      this.publishing = undefined;
    });
    return this.publishing;
  }

  private async publishAll(): Promise<void> {
    this.refresh();
    for (const a of this.current.values()) {
      const c = this.counters.get(a.model);
      const row: ReplicaObservation = {
        rollout: a.rollout,
        step: a.step,
        at: new Date(this.o.clock.wallMs()).toISOString(),
        arms: Object.fromEntries([...(c?.arms ?? [])].map(([v, arm]) => [String(v), arm])),
        diffs: this.o.shadows?.diffs(a.model) ?? [],
      };
      try {
        await this.o.store.putObservation(a.model, this.o.replica, row as unknown as Record<string, unknown>);
        this.failing = false;
      } catch (err) {
        if (!this.failing)
          this.o.logger.warn({ err: (err as Error).message }, 'publishing rollout observations failed; retrying');
        this.failing = true;
      }
    }
  }
}
