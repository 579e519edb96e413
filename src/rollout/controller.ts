/**
 * The autopilot's driver: one replica at a time (a lease in the registry store) walks every
 * active rollout. A pending rollout starts its first step once the canary is READY here (or
 * aborts if it failed to load); a running one is analysed at each interval on the observations
 * of every replica (analysis.ts decides, this file applies): promote to the next step (the step
 * to 100 % moves the alias and ends the rollout), hold (up to maxHolds intervals, then roll back
 * as inconclusive), or roll back. A canary that stops serving rolls the rollout back at once.
 * The store being unreachable means no decision: the weights hold, the next tick tries again.
 */
import type { Clock } from '../core/index.js';
import type { Logger } from '../observability/logger.js';
import type { RegistryStore } from '../registry/types.js';
import type { ModelRepositoryApi } from '../repository/types.js';
import { analyze } from './analysis.js';
import { type ReplicaObservation, sumArm } from './observations.js';
import type { RolloutService, RolloutView } from './service.js';

export interface ControllerOptions {
  store: Pick<RegistryStore, 'acquireLease' | 'listObservations' | 'snapshot'>;
  service: RolloutService;
  repository: Pick<ModelRepositoryApi, 'modelVersions'>;
  /** This replica's id (the lease holder). */
  holder: string;
  clock: Clock;
  logger: Pick<Logger, 'info' | 'warn'>;
  tickMs?: number;
  leaseMs?: number;
  /** A rollout ended by a rollback (metrics, alerts). */
  onRollback?: (model: string) => void;
}

const ACTOR = 'rollout-controller';

export class RolloutController {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private leader = false;

  constructor(private readonly o: ControllerOptions) {}

  start(): void {
    this.timer = setInterval(() => void this.tick(), this.o.tickMs ?? 1000);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  /** One pass (ticks never overlap); errors end the pass, never the loop. */
  tick(): Promise<void> {
    this.running ??= this.pass()
      .catch((err) => this.o.logger.warn({ err: (err as Error).message }, 'rollout controller pass failed; retrying'))
      .finally(() => {
        this.running = undefined;
      });
    return this.running;
  }

  private async pass(): Promise<void> {
    const now = this.o.clock.wallMs();
    const leader = await this.o.store.acquireLease('rollout-controller', this.o.holder, this.o.leaseMs ?? 10_000, now);
    if (leader !== this.leader)
      this.o.logger.info({ holder: this.o.holder }, leader ? 'leading rollouts' : 'no longer leading rollouts');
    this.leader = leader;
    if (!leader) return;
    const rollouts = await this.o.service.list();
    for (const r of rollouts) {
      if (r.state.status === 'pending') await this.pending(r);
      else if (r.state.status === 'running') await this.running_(r, now);
    }
  }

  private versionState(model: string, version: number): { ready: boolean; failed?: string } {
    try {
      const [v] = this.o.repository.modelVersions(model, version);
      if (v?.state === 'READY') return { ready: true };
      return {
        ready: false,
        failed: v?.state === 'UNAVAILABLE' && v.reason && v.reason !== 'unloaded' ? v.reason : undefined,
      };
    } catch {
      return { ready: false };
    }
  }

  private async pending(r: RolloutView): Promise<void> {
    const s = r.state;
    const canary = this.versionState(r.model, s.canary);
    if (canary.failed) {
      await this.o.service.transition(
        r.model,
        r.seq,
        { step: -1, action: 'abort', reason: `the canary failed to load: ${canary.failed}`, by: ACTOR },
        { status: 'aborted' },
      );
      return;
    }
    if (!canary.ready) return;
    // Blue-green: the only step is 100 %, switched at once now that the green version is warm.
    if (s.steps[0] === 100) {
      await this.o.service.complete(r.model, r.seq, ACTOR, 'blue-green: the new version is warm');
      return;
    }
    const at = new Date(this.o.clock.wallMs()).toISOString();
    await this.o.service.transition(
      r.model,
      r.seq,
      { step: 0, action: 'promote', reason: `the canary is warm: ${s.steps[0]}%`, by: ACTOR },
      {
        status: 'running',
        step: 0,
        stepStartedAt: at,
        holds: 0,
      },
    );
  }

  private async running_(r: RolloutView, now: number): Promise<void> {
    const s = r.state;
    if (!this.versionState(r.model, s.canary).ready) {
      await this.rollback(r, 'the canary stopped serving');
      return;
    }
    const due = Date.parse(s.stepStartedAt) + s.intervalMs * (s.holds + 1);
    if (now < due) return;
    const rows = (await this.o.store.listObservations(r.model)).map((o) => o.data as unknown as ReplicaObservation);
    const decision = analyze(sumArm(rows, r.id, s.step, s.baseline), sumArm(rows, r.id, s.step, s.canary), s.gates);
    const base = { step: s.step, by: ACTOR, reason: decision.reason, evidence: decision.evidence };
    if (decision.action === 'rollback') return this.rollback(r, decision.reason, decision.evidence);
    if (decision.action === 'hold') {
      if (s.holds + 1 >= s.maxHolds)
        return this.rollback(r, `inconclusive after ${s.maxHolds} intervals: ${decision.reason}`, decision.evidence);
      await this.o.service.transition(r.model, r.seq, { ...base, action: 'hold' }, { holds: s.holds + 1 });
      return;
    }
    const next = s.step + 1;
    if (next >= s.steps.length || s.steps[next] === 100) {
      await this.o.service.complete(r.model, r.seq, ACTOR, decision.reason, decision.evidence);
      return;
    }
    const at = new Date(now).toISOString();
    await this.o.service.transition(
      r.model,
      r.seq,
      { ...base, action: 'promote' },
      { step: next, stepStartedAt: at, holds: 0 },
    );
  }

  private async rollback(r: RolloutView, reason: string, evidence?: unknown): Promise<void> {
    await this.o.service.transition(
      r.model,
      r.seq,
      { step: r.state.step, action: 'rollback', reason, by: ACTOR, evidence },
      { status: 'rolled-back' },
    );
    this.o.logger.warn({ model: r.model, rollout: r.id, reason }, `rollout of ${r.model} rolled back: ${reason}`);
    this.o.onRollback?.(r.model);
  }
}
