/**
 * The variants `optimize auto` tries: each pass that applies to the model, built with safe
 * defaults. A pass that does not apply (no MatMul, opset too old, calibration failed) is recorded
 * with its reason instead of stopping the search.
 */
import type { ModelProto } from '../../gen/onnx-ml_pb.js';
import type { CalibrationMethod } from '../calibrate/range.js';
import { mixedCandidate } from './mixed.js';
import type { AutoCandidate, CandidateOptions } from './types.js';
import { convertFp16 } from '../convert/fp16.js';
import { optimizeGraph } from '../convert/graph-opt.js';
import { sweepPruning } from '../prune/sweep.js';
import { UNSTRUCTURED_NOTE } from '../prune/unstructured.js';
import { quantizeDynamic } from '../quantize/dynamic.js';
import { quantizeStatic } from '../quantize/static.js';

type Builder = [string, () => Promise<AutoCandidate | AutoCandidate[]>];

/** Build every applicable candidate; returns them and the passes skipped with their reasons. */
export async function buildCandidates(
  model: ModelProto,
  o: CandidateOptions,
): Promise<{ candidates: AutoCandidate[]; skipped: { name: string; reason: string }[] }> {
  const candidates: AutoCandidate[] = [];
  const skipped: { name: string; reason: string }[] = [];
  const builders = builderList(model, o, candidates);
  for (const [i, [name, build]] of builders.entries()) {
    try {
      const c = await build();
      candidates.push(...(Array.isArray(c) ? c : [c]));
    } catch (e) {
      skipped.push({ name, reason: (e as Error).message });
    }
    o.onProgress?.('variants', i + 1, builders.length);
  }
  return { candidates, skipped };
}

function builderList(model: ModelProto, o: CandidateOptions, built: AutoCandidate[]): Builder[] {
  const common = { reduceRange: o.reduceRange, baseDir: o.baseDir };
  const list: Builder[] = [
    [
      'int8 dynamic',
      async () => {
        const r = quantizeDynamic(model, common);
        if (r.quantized.length === 0) throw new Error('no MatMul/Gemm with a constant float weight');
        const parameters = { mode: 'dynamic', perChannel: true, ...common, baseDir: undefined };
        return { name: 'int8 dynamic', model: r.model, checkFusion: true, transform: 'quantize-dynamic', parameters };
      },
    ],
  ];
  for (const method of ['minmax', 'percentile', 'entropy'] as CalibrationMethod[])
    list.push([`int8 static (${method})`, () => staticCandidate(model, method, o)]);
  if ((o.mixedMaxFloat ?? 3) > 0)
    list.push([
      'int8 static mixed',
      async () => {
        // Only where plain static int8 built; it uses the calibrator of the first one that did.
        const plain = built.find((c) => c.transform === 'quantize-static');
        if (!plain) throw new Error('no plain static int8 candidate to start from');
        return mixedCandidate(model, plain.parameters['calibration'] as CalibrationMethod, o);
      },
    ]);
  list.push(
    [
      'fp16',
      async () => {
        const r = convertFp16(model, { baseDir: o.baseDir });
        return { name: 'fp16', model: r.model, notes: r.notes, transform: 'fp16', parameters: { keepIoTypes: true } };
      },
    ],
    [
      'graph extended',
      async () => {
        const r = await optimizeGraph(model, 'extended');
        return { name: 'graph extended', model: r.model, transform: 'graph', parameters: { level: 'extended' } };
      },
    ],
    ['pruned structured', () => pruneCandidate(model, 'structured', o)],
  );
  if (o.unstructured) list.push(['pruned unstructured', () => pruneCandidate(model, 'unstructured', o)]);
  return list;
}

async function staticCandidate(
  model: ModelProto,
  method: CalibrationMethod,
  o: CandidateOptions,
): Promise<AutoCandidate> {
  if (!o.calib) throw new Error('no calibration rows');
  const r = await quantizeStatic(model, o.calib, {
    calibration: { method, threads: o.threads ?? 1 },
    reduceRange: o.reduceRange,
    baseDir: o.baseDir,
  });
  if (r.quantized.length === 0) throw new Error('no MatMul/Gemm/Conv with a constant float weight');
  const name = `int8 static (${method})`;
  const parameters = {
    mode: 'static',
    calibration: method,
    reduceRange: o.reduceRange,
    calibrationRows: o.calib.rows.length,
  };
  return { name, model: r.model, checkFusion: true, notes: r.notes, transform: 'quantize-static', parameters };
}

async function pruneCandidate(
  model: ModelProto,
  method: 'structured' | 'unstructured',
  o: CandidateOptions,
): Promise<AutoCandidate> {
  const sweep = await sweepPruning(model, o.val, {
    method,
    sparsities: o.sparsities ?? [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9],
    budget: o.budget,
    baseDir: o.baseDir,
    threads: o.threads ?? 1,
  });
  if (!sweep.chosen)
    throw new Error(`no sparsity within budget (lowest loss ${Math.min(...sweep.points.map((p) => p.loss))})`);
  if (sweep.chosen.result.prunedParams === 0) throw new Error('nothing prunable');
  const s = sweep.chosen.point.sparsity;
  const notes = method === 'unstructured' ? [UNSTRUCTURED_NOTE] : sweep.chosen.result.notes;
  return {
    name: `pruned ${method} ${(s * 100).toFixed(0)}%`,
    model: sweep.chosen.result.model,
    notes,
    transform: `prune-${method}`,
    parameters: { method, sparsity: s, accuracyBudget: o.budget },
  };
}
