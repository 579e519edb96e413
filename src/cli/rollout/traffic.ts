/**
 * `infergate traffic show [MODEL] | set MODEL --arm 1=90 --arm 2=10 [--shadow 2=5]
 * [--sticky-header NAME] | clear MODEL`: manual splits of the calls that name no version (an A/B
 * test, a fixed canary), checked like the admin API's (weights sum to 100, versions exist) and
 * refused while a rollout owns the model's split. Calls that name a version or alias bypass it.
 */
import type { Command } from 'commander';
import { invalidArg } from '../../core/index.js';
import type { TrafficPolicy } from '../../registry/types.js';
import type { TrafficView } from '../../rollout/api.js';
import { collect } from '../registry/context.js';
import { printJson, runWithRollouts, table, withRegistryOptions } from './context.js';
import { parseVersionPair } from './parse.js';

interface SetFlags {
  arm: string[];
  shadow: string[];
  stickyHeader?: string;
  stickyParameter?: string;
  reason?: string;
}

export function registerTrafficCommand(program: Command): void {
  const traffic = program
    .command('traffic')
    .description('manual traffic splits: weighted A/B arms, sticky callers, shadows (registry control mode)');
  withRegistryOptions(
    traffic
      .command('show')
      .description('the traffic split of every model, or of one')
      .argument('[model]', 'model name'),
  ).action(async (model: string | undefined, _o, cmd: Command) =>
    runWithRollouts(cmd, async (r) => {
      const rows = await r.traffic.show(model);
      if (r.json) return printJson(model === undefined ? rows : (rows[0] ?? null));
      if (rows.length === 0)
        return console.log(model === undefined ? 'no traffic splits' : `${model}: no split (calls go to its alias)`);
      console.log(trafficTable(rows));
    }),
  );
  withRegistryOptions(
    traffic
      .command('set')
      .description('split the calls that name no version between versions (refused during a rollout)')
      .argument('<model>', 'model name')
      .option(
        '--arm <version=weight>',
        'an arm and its weight in percent; weights sum to 100 (repeatable)',
        collect,
        [],
      )
      .option(
        '--shadow <version=percent>',
        'copy this share of calls to a version, answer discarded (repeatable)',
        collect,
        [],
      )
      .option('--sticky-header <name>', 'keep each caller on one arm by this request header')
      .option('--sticky-parameter <name>', 'keep each caller on one arm by this request parameter')
      .option('--reason <text>', 'why (recorded in the audit log)'),
  ).action(async (model: string, flags: SetFlags, cmd: Command) =>
    runWithRollouts(cmd, async (r) => {
      const view = await r.traffic.set(model, policyOf(flags), r.actor, flags.reason);
      if (r.json) return printJson(view);
      console.log(trafficTable([view]));
    }),
  );
  withRegistryOptions(
    traffic
      .command('clear')
      .description('remove a manual split: calls go to the default alias again (refused during a rollout)')
      .argument('<model>', 'model name')
      .option('--reason <text>', 'why (recorded in the audit log)'),
  ).action(async (model: string, flags: { reason?: string }, cmd: Command) =>
    runWithRollouts(cmd, async (r) => {
      const cleared = await r.traffic.clear(model, r.actor, flags.reason);
      if (r.json) return printJson({ model, cleared });
      console.log(cleared ? `traffic split of ${model} removed` : `${model} had no traffic split`);
    }),
  );
}

function policyOf(f: SetFlags): TrafficPolicy {
  if (f.arm.length === 0) throw invalidArg('give the arms: --arm VERSION=WEIGHT, repeated, weights summing to 100');
  const arms = f.arm
    .map((a) => parseVersionPair(a, '--arm', 'WEIGHT'))
    .map((a) => ({ version: a.version, weight: a.value }));
  const shadows = f.shadow
    .map((s) => parseVersionPair(s, '--shadow', 'PERCENT'))
    .map((s) => ({ version: s.version, percent: s.value }));
  const sticky =
    f.stickyHeader !== undefined || f.stickyParameter !== undefined
      ? {
          ...(f.stickyHeader !== undefined ? { header: f.stickyHeader } : {}),
          ...(f.stickyParameter !== undefined ? { parameter: f.stickyParameter } : {}),
        }
      : undefined;
  return { arms, ...(shadows.length ? { shadows } : {}), ...(sticky ? { sticky } : {}) };
}

function trafficTable(rows: TrafficView[]): string {
  return table(
    ['model', 'arms', 'shadows', 'sticky', 'owner', 'updated', 'by'],
    rows.map((t) => [
      t.model,
      t.policy.arms.map((a) => `v${a.version} ${a.weight}%`).join(', '),
      (t.policy.shadows ?? []).map((s) => `v${s.version} ${s.percent}%`).join(', ') || '-',
      t.policy.sticky?.header
        ? `header ${t.policy.sticky.header}`
        : t.policy.sticky?.parameter
          ? `parameter ${t.policy.sticky.parameter}`
          : '-',
      t.rollout ? `rollout ${t.rollout}` : 'manual',
      t.updatedAt,
      t.updatedBy,
    ]),
  );
}
