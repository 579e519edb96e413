/** Human-readable text of a load result (the CLI prints it; --json prints the object instead). */
import type { LatencySummary, RunSummary } from './result.js';
import type { LoadResult } from './run.js';

const ms = (v: number) => (Number.isFinite(v) ? (v < 10 ? v.toFixed(2) : v.toFixed(1)) : '-');

/** One line of latency quantiles. */
export function latencyLine(l: LatencySummary): string {
  return `p50 ${ms(l.p50)}  p90 ${ms(l.p90)}  p99 ${ms(l.p99)}  p99.9 ${ms(l.p999)}  max ${ms(l.max)} ms`;
}

function summaryLines(s: RunSummary, indent: string): string[] {
  const lines = [
    `${indent}requests ${s.requests}  ok ${s.ok}  errors ${s.errorCount}`,
    `${indent}throughput ${s.throughput.toFixed(1)} req/s  (${s.inferencesPerSec.toFixed(1)} inferences/s)`,
    `${indent}latency    ${latencyLine(s.latencyMs)}`,
  ];
  if (s.errorCount > 0) {
    const kinds = Object.entries(s.errors).map(([k, n]) => `${k} ×${n}`);
    lines.push(`${indent}errors     ${kinds.join(', ')}`);
    if (s.errorLatencyMs) lines.push(`${indent}error latency ${latencyLine(s.errorLatencyMs)}`);
  }
  if (s.goodput)
    lines.push(`${indent}goodput    ${s.goodput.perSec.toFixed(1)} req/s within ${ms(s.goodput.boundMs)} ms`);
  return lines;
}

/** The full text report of one run. */
export function formatResult(r: LoadResult): string {
  const lines = summaryLines(r.total, '');
  lines.push(
    `generator  ${(r.windowMs / 1000).toFixed(1)} s measured, own CPU ${r.generatorCpuCores.toFixed(2)} cores`,
  );
  for (const [title, group] of [
    ['variant', r.byVariant],
    ['phase', r.byPhase],
  ] as const) {
    for (const [k, s] of Object.entries(group ?? {})) lines.push(`${title} ${k || '-'}:`, ...summaryLines(s, '  '));
  }
  return lines.join('\n');
}
