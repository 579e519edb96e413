/**
 * `infergate rollout start MODEL --to VERSION [--steps 5,25,50,100] [--interval 2m] [gates…]`:
 * writes a pending rollout and its weight-0 split to the registry; a server in registry control
 * mode warms the canary, then its controller walks the steps, promoting, holding or rolling back
 * on the live evidence. `--blue-green` is the single step 100: all traffic switches once warm.
 */
import type { Command } from 'commander';
import { invalidArg } from '../../core/index.js';
import { parseVersionNumber } from '../../registry/names.js';
import type { Gates } from '../../rollout/analysis.js';
import type { RolloutView, StartRequest } from '../../rollout/service.js';
import { printJson, runWithRollouts, withRegistryOptions } from './context.js';
import { parseCount, parseDuration, parseFraction, parsePercent, parsePositive, parseSteps } from './parse.js';

interface Flags {
  to: string;
  steps?: string;
  interval?: string;
  maxErrorRateDelta?: string;
  maxP99Ratio?: string;
  maxDivergence?: string;
  minSamples?: string;
  shadow?: string;
  stickyHeader?: string;
  stickyParameter?: string;
  blueGreen?: boolean;
  alias?: string;
}

export function registerStart(rollout: Command): void {
  withRegistryOptions(
    rollout
      .command('start')
      .description('start a progressive rollout (or a blue-green switch) of a new version, driven by the server')
      .argument('<model>', 'model name')
      .requiredOption('--to <version>', 'the version to roll out (number or alias)')
      .option('--steps <percents>', 'canary weights, rising to 100 (default 5,25,50,100)')
      .option('--interval <duration>', 'analysis interval per step: 2m, 120s, 500ms (default 2m)')
      .option(
        '--max-error-rate-delta <percent>',
        "gate: canary error rate at most this above the baseline (default 1%; 'off')",
      )
      .option('--max-p99-ratio <ratio>', "gate: canary p99 at most this times the baseline p99 (default 1.2; 'off')")
      .option('--max-divergence <percent>', 'gate: share of shadowed calls whose answers disagree (turns on a shadow)')
      .option('--min-samples <n>', 'calls per arm before any decision (default 500)')
      .option('--shadow <percent>', 'copy this share of baseline calls to the canary for comparison')
      .option('--sticky-header <name>', 'keep each caller on one arm by this request header (e.g. x-user-id)')
      .option('--sticky-parameter <name>', 'keep each caller on one arm by this request parameter')
      .option('--blue-green', 'switch all traffic at once when the new version is warm (no steps)')
      .option('--alias <alias>', 'the alias the rollout starts from and moves on success', 'production'),
  ).action(async (model: string, flags: Flags, cmd: Command) =>
    runWithRollouts(cmd, async (r) => {
      const to = parseVersionNumber(flags.to) ?? (await r.service.showVersion(model, flags.to)).version;
      const view = await r.rollouts.start(startRequest(model, to, flags), r.actor);
      if (r.json) return printJson(view);
      console.log(describeStart(view));
    }),
  );
}

function startRequest(model: string, to: number, f: Flags): StartRequest {
  if (f.blueGreen && f.steps !== undefined) throw invalidArg('--blue-green and --steps exclude each other');
  if (f.stickyHeader !== undefined && f.stickyParameter !== undefined)
    throw invalidArg('--sticky-header and --sticky-parameter exclude each other');
  const gates: Partial<Gates> = {};
  if (f.minSamples !== undefined) gates.minSamples = parseCount(f.minSamples, '--min-samples');
  // 'off' switches a default gate off (the key stays, undefined: the service reads it as off).
  if (f.maxErrorRateDelta !== undefined)
    gates.maxErrorRateDelta =
      f.maxErrorRateDelta === 'off' ? undefined : parseFraction(f.maxErrorRateDelta, '--max-error-rate-delta');
  if (f.maxP99Ratio !== undefined)
    gates.maxP99Ratio = f.maxP99Ratio === 'off' ? undefined : parsePositive(f.maxP99Ratio, '--max-p99-ratio');
  if (f.maxDivergence !== undefined) gates.maxDivergence = parseFraction(f.maxDivergence, '--max-divergence');
  const sticky =
    f.stickyHeader !== undefined
      ? { header: f.stickyHeader }
      : f.stickyParameter !== undefined
        ? { parameter: f.stickyParameter }
        : undefined;
  return {
    model,
    to,
    steps: f.blueGreen ? [100] : f.steps === undefined ? undefined : parseSteps(f.steps, '--steps'),
    intervalMs: f.interval === undefined ? undefined : parseDuration(f.interval, '--interval'),
    gates,
    shadowPercent: f.shadow === undefined ? undefined : parsePercent(f.shadow, '--shadow'),
    sticky,
    alias: f.alias,
  };
}

const pct = (f: number) => `${Number((f * 100).toFixed(4))}%`;

function describeStart(v: RolloutView): string {
  const s = v.state;
  const plan =
    s.steps.length === 1 && s.steps[0] === 100
      ? 'blue-green: all traffic switches once the new version is warm'
      : `steps ${s.steps.join(',')}% every ${s.intervalMs / 1000}s`;
  const gates = [
    `at least ${s.gates.minSamples} calls per arm`,
    s.gates.maxErrorRateDelta !== undefined && `error rate at most +${pct(s.gates.maxErrorRateDelta)}`,
    s.gates.maxP99Ratio !== undefined && `p99 at most ×${s.gates.maxP99Ratio}`,
    s.gates.maxDivergence !== undefined && `divergence at most ${pct(s.gates.maxDivergence)}`,
  ].filter(Boolean);
  return [
    `rollout ${v.id} of ${v.model} started: v${s.baseline} → v${s.canary} (${s.alias}), ${plan}`,
    `gates: ${gates.join(', ')}${s.shadowPercent > 0 ? `; shadow ${s.shadowPercent}%` : ''}`,
    `the canary loads at weight 0; a server in registry control mode drives it (infergate rollout status ${v.model})`,
  ].join('\n');
}
