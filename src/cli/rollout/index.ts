/** `infergate rollout …` and `infergate traffic …`: one file per command in this folder. */
import type { Command } from 'commander';
import { registerControl } from './control.js';
import { registerReport } from './report.js';
import { registerStart } from './start.js';
import { registerStatus } from './status.js';
import { registerTrafficCommand } from './traffic.js';

export function registerRolloutCommands(program: Command): void {
  const rollout = program
    .command('rollout')
    .description('progressive rollouts: canary steps gated on live evidence, blue-green, operator decisions');
  registerStart(rollout);
  registerStatus(rollout);
  registerControl(rollout);
  registerReport(rollout);
  registerTrafficCommand(program);
}
