/**
 * `infergate rollout report MODEL [--html FILE]`: the shadow diff report of the model's newest
 * observed step (a rollout's, or a manual split with shadows), summed over every replica that
 * published observations: agreement per version pair, per-output differences, the shadow's latency,
 * the worst calls by request id, and each arm's requests, errors and latency. `--html` writes the
 * self-contained page (inline style, nothing fetched) to FILE; `--json` prints the data.
 */
import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { renderReportHtml } from '../../rollout/report-html.js';
import type { LatencySummary } from '../../rollout/report.js';
import type { RolloutReport } from '../../rollout/reporting.js';
import { printJson, runWithRollouts, table, withRegistryOptions } from './context.js';

const WORST_SHOWN = 10;

export function registerReport(rollout: Command): void {
  withRegistryOptions(
    rollout
      .command('report')
      .description('shadow diff report: agreement per version pair, worst calls, per-arm requests and latency')
      .argument('<model>', 'the model')
      .option('--html <file>', 'also write the report as one self-contained HTML page'),
  ).action(async (model: string, o: { html?: string }, cmd: Command) =>
    runWithRollouts(cmd, async (r) => {
      const report = await r.rollouts.report(model);
      if (o.html !== undefined) writeFileSync(o.html, renderReportHtml(report));
      if (r.json) return printJson(report);
      console.log(reportText(report));
      if (o.html !== undefined) console.log(`\nHTML report written to ${o.html}`);
    }),
  );
}

const pct = (x: number | null) => (x === null ? '-' : `${(x * 100).toFixed(2)}%`);
const ms = (v: number | null, censored: boolean) => (v === null ? '-' : `${censored ? '>=' : ''}${v.toFixed(2)}`);
const latency = (l: LatencySummary) => [String(l.count), ms(l.p50Ms, l.censored), ms(l.p99Ms, l.censored)];
const diff = (d: number | null) => (d === null ? 'incomparable' : d.toPrecision(4));

export function reportText(r: RolloutReport): string {
  const s = r.summary;
  const lines = [
    `model ${r.model}, ${r.rollout} step ${r.step}, ${r.replicas.length} replica(s), at ${r.generatedAt}`,
    s.compared === 0
      ? `no shadow comparisons yet (${s.failed} failed, ${s.dropped} dropped)`
      : `agreement ${pct(s.agreement)}: ${s.disagreed} of ${s.compared} compared calls disagree; ` +
        `${s.failed} shadow calls failed, ${s.dropped} dropped`,
  ];
  if (r.arms.length)
    lines.push(
      '',
      table(
        ['arm (version)', 'requests', 'errors', 'error rate', 'latency n', 'p50 ms', 'p99 ms'],
        r.arms.map((a) => [a.version, String(a.requests), String(a.errors), pct(a.errorRate), ...latency(a.latency)]),
      ),
    );
  if (r.pairs.length)
    lines.push(
      '',
      table(
        ['primary → shadow', 'compared', 'disagreed', 'agreement', 'failed', 'dropped', 'max |diff| per output'],
        r.pairs.map((p) => [
          `v${p.primary} → v${p.shadow}`,
          String(p.compared),
          String(p.disagreed),
          pct(p.agreement),
          String(p.failed),
          String(p.dropped),
          p.outputs.map((o) => `${o.name}: ${o.maxAbs.toPrecision(4)}`).join(', ') || '-',
        ]),
      ),
    );
  if (r.worst.length)
    lines.push(
      '',
      `worst calls (largest difference first; look them up by request id):`,
      table(
        ['request id', 'pair', 'max |diff|', 'at'],
        r.worst.slice(0, WORST_SHOWN).map((w) => [w.requestId, `v${w.primary} → v${w.shadow}`, diff(w.diff), w.at]),
      ),
    );
  return lines.join('\n');
}
