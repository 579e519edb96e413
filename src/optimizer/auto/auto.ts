/**
 * `optimize auto`: build every variant that applies, measure them side by side against the original
 * on the validation rows (interleaved latency, accuracy, fused kernels), and pick one for the
 * target within the accuracy budget — or say that nothing fits and by how much each missed.
 */
import type { ModelProto } from '../../gen/onnx-ml_pb.js';
import { buildCandidates } from './candidates.js';
import type { AutoCandidate, CandidateOptions } from './types.js';
import { nothingFitsMessage, type Selection, selectVariant, type Target } from './select.js';
import { compareVariants } from '../measure/compare.js';
import type { OptimizeReport } from '../measure/report-types.js';

export interface AutoOptions extends CandidateOptions {
  target: Target;
  batches?: number[];
  rounds?: number;
}

export interface AutoResult {
  report: OptimizeReport;
  /** Every variant measured, with what made it (transform and parameters, for lineage). */
  candidates: AutoCandidate[];
  selection: Selection;
  skipped: { name: string; reason: string }[];
  chosen?: AutoCandidate;
}

/** Thrown when no variant fits the budget; the message lists every try. */
export class NothingFitsError extends Error {
  constructor(
    message: string,
    readonly result: AutoResult,
  ) {
    super(message);
  }
}

/** Try, measure and choose; throws NothingFitsError when no variant is within the budget. */
export async function autoOptimize(name: string, model: ModelProto, o: AutoOptions): Promise<AutoResult> {
  const { candidates, skipped } = await buildCandidates(model, {
    ...o,
    unstructured: o.unstructured ?? o.target === 'edge',
  });
  if (candidates.length === 0)
    throw new Error(`no optimization applies: ${skipped.map((s) => `${s.name} (${s.reason})`).join('; ')}`);
  const report = await compareVariants(name, model, candidates, o.val, {
    threads: o.threads ?? 1,
    batches: o.batches ?? [1, 32],
    rounds: o.rounds ?? 5,
    onProgress: o.onProgress,
  });
  const models = new Map(candidates.map((c) => [c.name, c.model]));
  const selection = selectVariant(report, models, o.budget, o.target);
  const chosen = candidates.find((c) => c.name === selection.chosen?.name);
  const result: AutoResult = { report, candidates, selection, skipped, ...(chosen ? { chosen } : {}) };
  if (!chosen) throw new NothingFitsError(nothingFitsMessage(selection, o.budget, skipped), result);
  return result;
}
