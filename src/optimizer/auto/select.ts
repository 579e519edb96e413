/**
 * How `optimize auto` picks among measured variants. Every variant must stay within the accuracy
 * budget; then the target decides: cpu = the largest geometric-mean speedup over the measured batch
 * sizes (batch 1 latency and large-batch throughput count equally); gpu = fp16 (onnxruntime runs
 * fp16 as fp32 on CPU, so CPU timings cannot rank GPU variants); edge = the smallest gzip size.
 */
import { gzipSync } from 'node:zlib';
import { type AccuracyLoss, accuracyLoss, formatLoss } from '../measure/accuracy-budget.js';
import { encodeModel } from '../model/io.js';
import type { ModelProto } from '../../gen/onnx-ml_pb.js';
import type { OptimizeReport, VariantReport } from '../measure/report-types.js';

export type Target = 'cpu' | 'gpu' | 'edge';

export interface Verdict extends AccuracyLoss {
  name: string;
  withinBudget: boolean;
  /** Geometric mean of p50 speedups against the original over the measured batches. */
  speedup: number;
  gzipBytes: number;
}

export interface Selection {
  verdicts: Verdict[];
  chosen?: Verdict;
  reason: string;
}

/** Geometric-mean speedup of a variant's p50 latencies against the original's. */
export function speedupOf(v: VariantReport, base: VariantReport): number {
  const ratios = v.latency.map((l, i) => (base.latency[i]?.p50Ms ?? l.p50Ms) / l.p50Ms);
  return ratios.length ? Math.exp(ratios.reduce((a, r) => a + Math.log(r), 0) / ratios.length) : 1;
}

/** Judge every measured variant and pick one for the target. */
export function selectVariant(
  report: OptimizeReport,
  models: Map<string, ModelProto>,
  budget: number,
  target: Target,
): Selection {
  const base = report.variants[0]!;
  const verdicts: Verdict[] = report.variants.slice(1).map((v) => {
    const loss = v.accuracy
      ? accuracyLoss(v.accuracy)
      : { loss: Number.POSITIVE_INFINITY, metric: 'top-1 drop' as const };
    const m = models.get(v.name);
    const gzipBytes = m ? gzipSync(encodeModel(m), { level: 6 }).length : v.sizeBytes;
    return { name: v.name, ...loss, withinBudget: loss.loss <= budget, speedup: speedupOf(v, base), gzipBytes };
  });
  const ok = verdicts.filter((v) => v.withinBudget);
  if (ok.length === 0) return { verdicts, reason: `no variant meets the accuracy budget of ${formatLoss(budget)}` };
  if (target === 'gpu') {
    const fp16 = ok.find((v) => v.name === 'fp16');
    if (fp16)
      return {
        verdicts,
        chosen: fp16,
        reason:
          'gpu: fp16 is the GPU choice (half the memory traffic, tensor cores); CPU timings do not rank GPU variants',
      };
  }
  if (target === 'edge') {
    const chosen = [...ok].sort((a, b) => a.gzipBytes - b.gzipBytes || b.speedup - a.speedup)[0]!;
    return {
      verdicts,
      chosen,
      reason: `edge: smallest within budget (${(chosen.gzipBytes / 1024).toFixed(0)} KiB gzip)`,
    };
  }
  const chosen = [...ok].sort((a, b) => b.speedup - a.speedup)[0]!;
  const why = `${target === 'gpu' ? 'gpu: fp16 missed the budget, so the fastest on CPU instead; ' : 'cpu: '}fastest within budget (${chosen.speedup.toFixed(2)}x geometric-mean speedup)`;
  return { verdicts, chosen, reason: why };
}

/** The error text when nothing fits: each variant and by how much it missed. */
export function nothingFitsMessage(
  sel: Selection,
  budget: number,
  skipped: { name: string; reason: string }[],
): string {
  const lines = sel.verdicts.map(
    (v) => `  ${v.name}: loss ${formatLoss(v.loss)} (${v.metric}), ${formatLoss(v.loss - budget)} over the budget`,
  );
  for (const s of skipped) lines.push(`  ${s.name}: not tried (${s.reason})`);
  return [`no variant meets the accuracy budget of ${formatLoss(budget)}; tried:`, ...lines].join('\n');
}
