/** The variant report as a terminal table (`optimize` and the optimizer benches print it). */
import Table from 'cli-table3';
import type { OptimizeReport } from '../../optimizer/measure/report-types.js';

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
