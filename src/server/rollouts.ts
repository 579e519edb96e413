/**
 * Rollouts' part of the composition root (registry control mode only): the service the admin API
 * and CLI call, every replica's observer (per-arm counters and shadow comparisons, published to
 * the store), the shadow runner, and the controller that one replica at a time drives.
 * The observer watches every active rollout step, and every manual traffic split that has shadows
 * (under an id made from the split itself, so a changed split starts its counts from zero): that is
 * what `rollout report` reads for a shadow test run without a rollout.
 */
import { createHash, randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Clock } from '../core/index.js';
import type { RegistrySync } from '../manager/sync.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import type { RegistryStore } from '../registry/types.js';
import type { ModelRepositoryApi } from '../repository/types.js';
import { RolloutController } from '../rollout/controller.js';
import { type ActiveStep, RolloutObserver } from '../rollout/observer.js';
import { RolloutService } from '../rollout/service.js';
import { ShadowRunner } from '../rollout/shadow.js';
import { isActive, type RolloutState } from '../rollout/state.js';
import type { Hooks } from '../router/hooks.js';

export interface ServerRollouts {
  service: RolloutService;
  replica: string;
  start(): void;
  stop(): Promise<void>;
}

export function openServerRollouts(deps: {
  store: RegistryStore;
  sync: RegistrySync;
  hooks: Hooks;
  repository: Pick<ModelRepositoryApi, 'modelVersions'>;
  clock: Clock;
  logger: Logger;
  metrics?: Pick<Metrics, 'countRollback'>;
  tickMs?: number;
}): ServerRollouts {
  const replica = `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
  const service = new RolloutService(deps.store, { clock: deps.clock });
  const active = (): ActiveStep[] => {
    const steps = deps.sync
      .rollouts()
      .filter((r) => isActive(r.state as unknown as RolloutState) && (r.state as unknown as RolloutState).step >= 0)
      .map((r) => ({ model: r.model, rollout: r.id, step: (r.state as unknown as RolloutState).step }));
    const driven = new Set(
      deps.sync
        .rollouts()
        .filter((r) => isActive(r.state as unknown as RolloutState))
        .map((r) => r.model),
    );
    for (const [model, policy] of Object.entries(deps.sync.status().traffic))
      if (!driven.has(model) && (policy.shadows?.length ?? 0) > 0)
        steps.push({ model, rollout: manualId(policy), step: 0 });
    return steps;
  };
  const shadows = new ShadowRunner(deps.hooks, {
    onFailure: (err, v) =>
      deps.logger.debug({ err: (err as Error).message, model: v.model, version: v.version }, 'shadow call failed'),
  });
  const observer = new RolloutObserver({
    hooks: deps.hooks,
    store: deps.store,
    replica,
    active,
    shadows,
    clock: deps.clock,
    logger: deps.logger,
    publishMs: Math.min(1000, deps.tickMs ?? 1000),
  });
  const unsubscribe = deps.sync.onApplied(() => observer.refresh());
  const controller = new RolloutController({
    store: deps.store,
    service,
    repository: deps.repository,
    holder: replica,
    clock: deps.clock,
    logger: deps.logger,
    tickMs: deps.tickMs,
    onRollback: (model) => deps.metrics?.countRollback(model),
  });
  return {
    service,
    replica,
    start() {
      observer.start();
      controller.start();
    },
    async stop() {
      unsubscribe();
      await controller.stop();
      await shadows.close();
      await observer.stop();
    },
  };
}

/** A manual split's observation id: changes with the split, so its counts restart with it. */
function manualId(policy: unknown): string {
  return `manual-${createHash('sha256').update(JSON.stringify(policy)).digest('hex').slice(0, 12)}`;
}
