/**
 * `infergate rollout pause|resume|abort|promote MODEL [--reason TEXT]`: an operator's decisions,
 * recorded in the rollout's decisions and the audit log like the autopilot's. Pause holds the
 * current weights (no analysis); abort returns all traffic to the baseline; promote moves to the
 * next step now, or from the last one moves the alias and ends the rollout.
 */
import type { Command } from 'commander';
import type { RolloutView } from '../../rollout/service.js';
import { printJson, runWithRollouts, withRegistryOptions } from './context.js';
import { decisionText } from './status.js';

const ACTIONS = {
  pause: 'hold the current weights; the autopilot stops deciding until resume',
  resume: 'continue a paused rollout at its step (the interval starts again)',
  abort: 'end the rollout: all traffic back to the baseline, the alias untouched',
  promote: 'go to the next step now (from the last one: move the alias and end)',
} as const;

export function registerControl(rollout: Command): void {
  for (const [action, description] of Object.entries(ACTIONS) as Array<[keyof typeof ACTIONS, string]>) {
    withRegistryOptions(
      rollout
        .command(action)
        .description(description)
        .argument('<model>', 'model name')
        .option('--reason <text>', 'why (recorded in the decisions and the audit log)'),
    ).action(async (model: string, flags: { reason?: string }, cmd: Command) =>
      runWithRollouts(cmd, async (r) => {
        const view = await r.rollouts[action](model, r.actor, flags.reason);
        if (r.json) return printJson(view);
        console.log(describe(view));
      }),
    );
  }
}

function describe(v: RolloutView): string {
  const s = v.state;
  const weight =
    s.status === 'promoted' ? 100 : s.step < 0 || !['running', 'paused'].includes(s.status) ? 0 : s.steps[s.step];
  const last = s.decisions.at(-1);
  return `rollout ${v.id} of ${v.model} is ${s.status} (v${s.baseline} → v${s.canary}, canary at ${weight}%)${last ? `: ${decisionText(last)}` : ''}`;
}
