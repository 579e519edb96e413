/**
 * The variant report: size, latency p50/p99 per batch, throughput, accuracy against the original,
 * fused int8 kernels. Printed as a table and saved as JSON plus a self-contained HTML page.
 */
import Table from 'cli-table3';
import type { CpuInfo } from './cpu.js';
import type { AccuracyStats } from './evaluate.js';
import { writeFileAtomic } from './io.js';
import type { LatencyStats } from './measure.js';
import type { FusionReport } from './ort.js';
import { renderHtmlReport } from './report-html.js';

export interface VariantReport {
  name: string;
  path?: string;
  sizeBytes: number;
  latency: LatencyStats[];
  accuracy?: AccuracyStats;
  fusion?: FusionReport;
  notes?: string[];
}

export interface OptimizeReport {
  model: string;
  created: string;
  machine: CpuInfo & { threads: number; onnxruntime: string };
  variants: VariantReport[];
}

const pct = (v: number | undefined) => (v === undefined ? '-' : `${(v * 100).toFixed(2)}%`);
const ms = (v: number | undefined) => (v === undefined ? '-' : v < 1 ? v.toFixed(3) : v.toFixed(2));

/** The report as a terminal table, one row per variant, speedups against the first row. */
export function formatReport(r: OptimizeReport): string {
  const batches = r.variants[0]?.latency.map((l) => l.batch) ?? [];
  const head = ['variant', 'size KB'];
  for (const b of batches) head.push(`b${b} p50 ms`, `b${b} p99 ms`, `b${b} rows/s`, `b${b} speedup`);
  head.push('top-1', 'agree', 'max abs err', 'mean abs err', 'int8 kernels');
  const table = new Table({ head, style: { head: [], border: [] } });
  const base = r.variants[0];
  for (const v of r.variants) {
    const row: string[] = [v.name, (v.sizeBytes / 1024).toFixed(0)];
    v.latency.forEach((l, i) => {
      const b = base?.latency[i];
      row.push(ms(l.p50Ms), ms(l.p99Ms), l.throughput.toFixed(0), b ? `${(b.p50Ms / l.p50Ms).toFixed(2)}x` : '-');
    });
    const a = v.accuracy;
    row.push(
      pct(a?.top1 ?? a?.top1Original),
      pct(a?.agreement),
      a ? a.maxAbsErr.toExponential(2) : '-',
      a ? a.meanAbsErr.toExponential(2) : '-',
    );
    row.push(
      v.fusion
        ? Object.entries(v.fusion.fusedKernels)
            .map(([k, n]) => `${n} ${k}`)
            .join(', ') || 'none'
        : '-',
    );
    table.push(row);
  }
  const m = r.machine;
  const header = `${r.model} — ${m.model}, ${m.cores} cores, ${m.threads} thread(s), flags ${m.flags.join(' ') || 'unknown'}${m.vnni ? '' : ' (no VNNI)'}, onnxruntime ${m.onnxruntime}`;
  const notes = r.variants.flatMap((v) => (v.notes ?? []).map((n) => `${v.name}: ${n}`));
  return [header, table.toString(), ...notes].join('\n');
}

/** Where the HTML page of a JSON report goes: beside it, same name, .html. */
export function htmlPathFor(jsonPath: string): string {
  return jsonPath.endsWith('.json') ? `${jsonPath.slice(0, -5)}.html` : `${jsonPath}.html`;
}

/** Save the report as pretty JSON and as a self-contained HTML page beside it (both atomic). */
export function saveReport(r: OptimizeReport, path: string): void {
  writeFileAtomic(path, `${JSON.stringify(r, null, 2)}\n`);
  writeFileAtomic(htmlPathFor(path), renderHtmlReport(r));
}

/** A short summary of a variant for lineage.json. */
export function summarize(v: VariantReport): Record<string, unknown> {
  return {
    sizeBytes: v.sizeBytes,
    latency: v.latency.map((l) => ({ batch: l.batch, p50Ms: l.p50Ms, p99Ms: l.p99Ms })),
    accuracy: v.accuracy,
    fusedKernels: v.fusion?.fusedKernels,
  };
}
