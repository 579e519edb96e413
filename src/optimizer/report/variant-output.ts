/**
 * The common end of every command that makes a variant: measure it against the original on the
 * validation rows (when given), write it as a file or as the next version with lineage.json, and save
 * the report as JSON + HTML beside it. Every file goes through temp file + rename.
 */
import { basename, dirname, join, resolve } from 'node:path';
import type { ModelProto } from '../../gen/onnx-ml_pb.js';
import { type Candidate, compareVariants } from '../measure/compare.js';
import type { ValidationSet } from '../data/validation-set.js';
import { encodeModel, type LoadedModel, saveModel } from '../model/io.js';
import { sha256File, writeVersion } from './lineage.js';
import { fusionCheck } from '../measure/ort.js';
import { saveReport, summarize } from './report.js';
import type { OptimizeReport, VariantReport } from '../measure/report-types.js';

export interface VariantSpec {
  name: string;
  model: ModelProto;
  transform: string;
  parameters: Record<string, unknown>;
  /** List the int8 kernels onnxruntime fuses (quantized variants). */
  checkFusion?: boolean;
  notes?: string[];
}

export interface OutputTarget {
  out?: string;
  modelDir?: string;
  /** Report JSON path; default beside the written model. The HTML page goes beside the JSON. */
  reportPath?: string;
  /** Validation rows; without them only size (and fusion) are reported. */
  set?: ValidationSet;
  threads?: number;
  batches?: number[];
  rounds?: number;
  progress?: (stage: string, done: number, total: number) => void;
  /** More rows measured beside the variant in the same report (sweep points, baselines); not written. */
  extra?: Candidate[];
}

export interface EmitResult {
  written: string;
  variant: VariantReport;
  report?: OptimizeReport;
  reportPath?: string;
}

/** Measure (when rows are given), write the variant with lineage, save the report; returns paths. */
export async function emitVariant(src: LoadedModel, spec: VariantSpec, t: OutputTarget): Promise<EmitResult> {
  if (!t.out && !t.modelDir) throw new Error('give --out FILE or --model-dir DIR for the variant');
  let report: OptimizeReport | undefined;
  let variant: VariantReport;
  if (t.set) {
    report = await compareVariants(
      `${basename(dirname(src.path))}/${basename(src.path)}`,
      src.model,
      [
        { name: spec.name, model: spec.model, checkFusion: spec.checkFusion ?? false, notes: spec.notes ?? [] },
        ...(t.extra ?? []),
      ],
      t.set,
      { threads: t.threads ?? 1, batches: t.batches ?? [1, 32], rounds: t.rounds ?? 5, onProgress: t.progress },
    );
    variant = report.variants[1]!;
  } else {
    variant = { name: spec.name, sizeBytes: encodeModel(spec.model).length, latency: [] };
    if (spec.checkFusion) variant.fusion = await fusionCheck(spec.model);
    if (spec.notes) variant.notes = spec.notes;
  }
  return writeMeasured(src, spec, variant, report, t);
}

/** Write a variant already measured (e.g. one row of an auto report) with lineage and the report. */
export function writeMeasured(
  src: LoadedModel,
  spec: VariantSpec,
  variant: VariantReport,
  report: OptimizeReport | undefined,
  t: OutputTarget,
): EmitResult {
  if (!t.out && !t.modelDir) throw new Error('give --out FILE or --model-dir DIR for the variant');
  const lineage = {
    parent: { path: src.path, sha256: sha256File(src.path) },
    transform: spec.transform,
    parameters: spec.parameters,
    summary: summarize(variant),
  };
  const written = t.modelDir
    ? writeVersion(t.modelDir, spec.model, lineage, src.baseDir)
    : writeFile(spec.model, t.out!, src);
  variant.path = written;
  if (!report) return { written, variant };
  const reportPath = t.reportPath ?? defaultReportPath(written, Boolean(t.modelDir));
  saveReport(report, reportPath);
  return { written, variant, report, reportPath };
}

function writeFile(model: ModelProto, out: string, src: LoadedModel): string {
  saveModel(model, out, { sourceDir: src.baseDir });
  return resolve(out);
}

// A version directory holds report.json; a plain file gets "<name>.report.json" beside it.
function defaultReportPath(written: string, versioned: boolean): string {
  if (versioned) return join(dirname(written), 'report.json');
  return written.replace(/\.onnx$/, '') + '.report.json';
}
