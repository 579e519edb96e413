/** The pruning sweep as a terminal table, and the message when no sparsity fits the budget. */
import Table from 'cli-table3';
import { formatLoss } from '../../optimizer/measure/accuracy-budget.js';
import type { SweepPoint } from '../../optimizer/prune/sweep.js';

const kb = (b: number) => (b / 1024).toFixed(0);

/** One row per swept sparsity: loss, budget verdict, parameters removed, raw and gzip size. */
export function formatSweep(points: SweepPoint[], budget: number): string {
  const table = new Table({
    head: ['sparsity', 'loss', 'metric', `within ${formatLoss(budget)}`, 'pruned params', 'size KB', 'gzip KB'],
    style: { head: [], border: [] },
  });
  for (const p of points) {
    table.push([
      `${(p.sparsity * 100).toFixed(0)}%`,
      formatLoss(p.loss),
      p.metric,
      p.withinBudget ? 'yes' : 'no',
      `${p.prunedParams}/${p.totalParams}`,
      kb(p.sizeBytes),
      kb(p.gzipBytes),
    ]);
  }
  return table.toString();
}

/** Why nothing was chosen: each sparsity and how far it missed the budget. */
export function noSparsityMessage(points: SweepPoint[], budget: number): string {
  const misses = points.map(
    (p) => `${(p.sparsity * 100).toFixed(0)}%: loss ${formatLoss(p.loss)} (${formatLoss(p.loss - budget)} over)`,
  );
  return `no sparsity meets the accuracy budget of ${formatLoss(budget)}; tried ${misses.join(', ')}`;
}

/** The layers structured pruning left intact with their reasons, the first `max` of them. */
export function formatPruneSkipped(skipped: { node: string; reason: string }[], max = 8): string {
  const shown = skipped.slice(0, max).map((s) => `${s.node} (${s.reason})`);
  const more = skipped.length > max ? `; and ${skipped.length - max} more` : '';
  return `left intact: ${shown.join('; ')}${more}`;
}
