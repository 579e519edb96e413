/**
 * The variant report: size, latency p50/p99 per batch, throughput, accuracy against the original,
 * fused int8 kernels. Saved as JSON plus a self-contained HTML page (the CLI prints it as a table).
 */
import { writeFileAtomic } from '../model/io.js';
import { renderHtmlReport } from './html.js';
import type { OptimizeReport, VariantReport } from '../measure/report-types.js';

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
