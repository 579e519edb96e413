/**
 * Rollouts' part of the composition root (registry control mode only): the service the admin API
 * and CLI call, every replica's observer (per-arm counters and shadow comparisons, published to
 * the store), the shadow runner, and the controller that one replica at a time drives.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Clock } from '../core/index.js';
import type { RegistrySync } from '../manager/sync.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import type { RegistryStore } from '../registry/types.js';
import type { ModelRepositoryApi } from '../repository/types.js';
import { RolloutController } from '../rollout/controller.js';
import { type ActiveStep, RolloutObserver, type ShadowDiffs } from '../rollout/observer.js';
import { RolloutService } from '../rollout/service.js';
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
  shadows?: ShadowDiffs;
  tickMs?: number;
}): ServerRollouts {
  const replica = `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
  const service = new RolloutService(deps.store, { clock: deps.clock });
  const active = (): ActiveStep[] =>
    deps.sync
      .rollouts()
      .filter((r) => isActive(r.state as unknown as RolloutState) && (r.state as unknown as RolloutState).step >= 0)
      .map((r) => ({ model: r.model, rollout: r.id, step: (r.state as unknown as RolloutState).step }));
  const observer = new RolloutObserver({
    hooks: deps.hooks,
    store: deps.store,
    replica,
    active,
    shadows: deps.shadows,
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
      await observer.stop();
    },
  };
}
