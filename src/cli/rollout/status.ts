/**
 * `infergate rollout status [MODEL]`: where each rollout is (status, step and canary weight,
 * baseline → canary, since when, the last decision and why). With MODEL, also the recent
 * decisions and the evidence of the last analysis (per-arm counts, error rates, p99s and each
 * gate's test), which is what the runbook's RolloutRolledBack entry reads.
 */
import type { Command } from 'commander';
import { InferError } from '../../core/index.js';
import { quoteName } from '../../registry/names.js';
import type { ArmSummary, Evidence } from '../../rollout/analysis.js';
import type { RolloutView } from '../../rollout/service.js';
import { isActive, type RolloutDecisionRecord, type RolloutState } from '../../rollout/state.js';
import { printJson, runWithRollouts, table, withRegistryOptions } from './context.js';

const SHOWN_DECISIONS = 10;

export function registerStatus(rollout: Command): void {
  withRegistryOptions(
    rollout
      .command('status')
      .description('rollouts: status, step and weight, last decision and why (with MODEL: decisions and evidence)')
      .argument('[model]', 'one model, with its decisions and the last evidence'),
  ).action(async (model: string | undefined, _o, cmd: Command) =>
    runWithRollouts(cmd, async (r) => {
      if (model === undefined) {
        const all = await r.rollouts.list();
        if (r.json) return printJson(all);
        if (all.length === 0) return console.log('no rollouts');
        return console.log(statusTable(all));
      }
      const one = await r.rollouts.get(model);
      if (!one) throw new InferError('IG_ERR_NOT_FOUND', `model ${quoteName(model)} has no rollout`);
      if (r.json) return printJson(one);
      console.log([statusTable([one]), ...details(one.state)].join('\n'));
    }),
  );
}

/** The canary's share now: 0 while warming or once rolled back or aborted, 100 once promoted. */
function stepOf(s: RolloutState): string {
  if (s.status === 'promoted') return 'done (100%)';
  if (!isActive(s)) return `ended (0%)`;
  if (s.step < 0) return 'warming (0%)';
  return `${s.step + 1}/${s.steps.length} (${s.steps[s.step]}%)`;
}

function statusTable(views: RolloutView[]): string {
  return table(
    ['model', 'status', 'step (weight)', 'baseline → canary', 'since', 'last decision'],
    views.map((v) => {
      const s = v.state;
      const last = s.decisions.at(-1);
      const since = isActive(s) ? s.stepStartedAt : (last?.at ?? s.stepStartedAt);
      const said = last ? decisionText(last) : '-';
      return [
        v.model,
        s.status,
        stepOf(s),
        `v${s.baseline} → v${s.canary}`,
        since,
        said.length > 100 ? `${said.slice(0, 99)}…` : said,
      ];
    }),
  );
}

/** `action: reason`, once: the analysis already starts its reasons with the action ("rollback: …"). */
export function decisionText(d: RolloutDecisionRecord): string {
  return d.reason.startsWith(`${d.action}:`) ? d.reason : `${d.action}: ${d.reason}`;
}

const pct = (x: number | null | undefined) => (typeof x === 'number' ? `${(x * 100).toFixed(2)}%` : '-');
const fmt = (x: number | null | undefined, digits = 1) => (typeof x === 'number' ? x.toFixed(digits) : '-');

function details(s: RolloutState): string[] {
  const lines = [
    `plan: ${s.steps.join(',')}% every ${s.intervalMs / 1000}s, alias ${s.alias}; gates ${JSON.stringify(s.gates)}` +
      (s.shadowPercent > 0 ? `; shadow ${s.shadowPercent}%` : '') +
      (s.sticky ? `; sticky ${JSON.stringify(s.sticky)}` : ''),
    `decisions (newest last${s.decisions.length > SHOWN_DECISIONS ? `, ${SHOWN_DECISIONS} of ${s.decisions.length}` : ''}):`,
  ];
  for (const d of s.decisions.slice(-SHOWN_DECISIONS))
    lines.push(`  ${d.at}  step ${d.step < 0 ? '-' : d.step + 1}  ${d.action.padEnd(8)} by ${d.by}: ${d.reason}`);
  const withEvidence = [...s.decisions].reverse().find((d) => d.evidence !== undefined);
  if (!withEvidence) {
    lines.push('evidence: none yet (no analysis has run)');
    return lines;
  }
  const e = withEvidence.evidence as Partial<Evidence>;
  lines.push(`evidence of the last analysis (${withEvidence.action} at ${withEvidence.at}):`);
  for (const p of e.problems ?? []) lines.push(`  problem: ${p}`);
  if (e.arms) {
    const arm = (name: string, a: ArmSummary) => [
      name,
      a.requests,
      a.errors,
      pct(a.errorRate),
      `${fmt(a.p99Ms)}${a.p99Censored ? '+' : ''}`,
      a.compared > 0 ? `${a.disagreed}/${a.compared}` : '-',
    ];
    lines.push(
      table(
        ['arm', 'requests', 'errors', 'error rate', 'p99 ms', 'disagreed'],
        [arm('baseline', e.arms.baseline), arm('canary', e.arms.canary)],
      ),
    );
  }
  const gates = e.gates ?? {};
  for (const [name, g] of Object.entries(gates) as Array<
    [string, { outcome: string; summary: string; pValue?: number }]
  >) {
    // Every test's p-value, also where the summary (written for the decision's reason) leaves it out.
    const p = typeof g.pValue === 'number' && !g.summary.includes('p=') ? ` (p=${g.pValue.toPrecision(2)})` : '';
    lines.push(`  ${name.padEnd(10)} ${g.outcome.padEnd(12)} ${g.summary}${p}`);
  }
  if (e.alpha !== undefined && e.alpha !== null)
    lines.push(
      `  alpha ${e.alpha} (each rollback test at ${fmt(e.rollbackAlpha, 4)}), min samples ${e.minSamples ?? '-'}`,
    );
  return lines;
}
