/**
 * What `infergate rollout …` and `infergate traffic …` share: the registry options and error path
 * of `infergate registry` (context.ts there: --registry or $INFERGATE_REGISTRY, --actor, --json,
 * one-line errors with exit code 1), plus the rollout service and manual splits over the same store.
 * Like the registry CLI they work on the store directly: a running server in registry control mode
 * applies the change within its poll interval, and its controller drives the rollout.
 */
import type { Command } from 'commander';
import { type Globals, type RegistryCli, runWithRegistryAt } from '../registry/context.js';
import { ManualTraffic } from '../../rollout/manual-traffic.js';
import { RolloutService } from '../../rollout/service.js';

export { printJson, table, withRegistryOptions } from '../registry/context.js';

export interface RolloutCli extends RegistryCli {
  rollouts: RolloutService;
  traffic: ManualTraffic;
}

/** Opens the registry for one command (named `rollout start`, `traffic set`… in its errors), runs it, closes it. */
export function runWithRollouts(cmd: Command, fn: (r: RolloutCli) => Promise<void>): Promise<void> {
  const name = `${cmd.parent?.name() ?? ''} ${cmd.name()}`.trim();
  return runWithRegistryAt(cmd.optsWithGlobals() as Globals, name, (r) =>
    fn({ ...r, rollouts: new RolloutService(r.store), traffic: new ManualTraffic(r.store) }),
  );
}
