/** The common tail of every command that makes a variant: measure, write, and print what was written. */
import { statSync } from 'node:fs';
import type { ValidationSet } from '../../optimizer/data/validation-set.js';
import type { Candidate } from '../../optimizer/measure/compare.js';
import type { LoadedModel } from '../../optimizer/model/io.js';
import { htmlPathFor } from '../../optimizer/report/report.js';
import { type EmitResult, emitVariant, type VariantSpec } from '../../optimizer/report/variant-output.js';
import { batchesOf, type OutputOpts, threadsOf } from './options.js';
import { progressReporter } from './progress.js';
import { formatReport } from './report-table.js';

/** Measure the variant on `set` (beside `extra` rows), write it with lineage and the report, print them. */
export async function finish(
  src: LoadedModel,
  spec: VariantSpec,
  o: OutputOpts,
  set: ValidationSet | undefined,
  extra: Candidate[] = [],
): Promise<EmitResult> {
  const progress = progressReporter();
  const res = await emitVariant(src, spec, {
    out: o.out,
    modelDir: o.modelDir,
    reportPath: o.report,
    set,
    threads: threadsOf(o),
    batches: batchesOf(o),
    progress: progress.update,
    extra,
  });
  progress.stop();
  if (res.variant.fusion) console.log(res.variant.fusion.message);
  if (res.report) console.log(formatReport(res.report));
  printWritten(res);
  return res;
}

/** The written model with its size, and the report's JSON and HTML paths. */
export function printWritten(res: { written: string; reportPath?: string }): void {
  console.log(`wrote ${res.written} (${(statSync(res.written).size / 1024).toFixed(0)} KiB)`);
  if (res.reportPath) console.log(`report: ${res.reportPath} and ${htmlPathFor(res.reportPath)}`);
}
