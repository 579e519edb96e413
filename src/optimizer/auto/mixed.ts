/**
 * The mixed-precision candidate of `optimize auto`: static int8 with the most quantization-sensitive
 * nodes kept float (the sensitivity pass of quantize/sensitivity.ts on the calibration rows). It is the
 * variant that rescues int8 when one layer (a stem reading raw signal, a head with a wide range)
 * breaks the budget for the whole model. How many nodes may stay float grows with the model
 * (a quarter of the quantizable nodes, at most `maxFloat`), and the pass stops early once the
 * output error is within the accuracy budget, so a model int8 already suits gets no duplicate.
 */
import type { ModelProto } from '../../gen/onnx-ml_pb.js';
import type { AutoCandidate, CandidateOptions } from './types.js';
import type { CalibrationMethod } from '../calibrate/range.js';
import { planGraphs } from '../quantize/qdq-graphs.js';
import { quantizeStatic } from '../quantize/static.js';

/** Most nodes the sensitivity pass may try in auto (each try builds and runs one variant). */
export const MIXED_MAX_CANDIDATES = 64;

/** How many nodes the mixed candidate may keep float for a model with `quantizable` nodes. */
export function mixedFloatLimit(quantizable: number, maxFloat: number): number {
  return Math.max(0, Math.min(maxFloat, Math.ceil(quantizable / 4), quantizable - 1));
}

/** Build the mixed-precision static int8 candidate, or throw why it does not apply. */
export async function mixedCandidate(
  model: ModelProto,
  method: CalibrationMethod,
  o: CandidateOptions,
): Promise<AutoCandidate> {
  if (!o.calib) throw new Error('no calibration rows');
  const quantizable = planGraphs(model, {}).reduce((n, p) => n + p.plan.nodes.length, 0);
  const limit = mixedFloatLimit(quantizable, o.mixedMaxFloat ?? 3);
  if (limit === 0) throw new Error(`${quantizable} quantizable node(s): nothing to keep float`);
  if (quantizable > MIXED_MAX_CANDIDATES)
    throw new Error(
      `${quantizable} quantizable nodes: a sensitivity pass over more than ${MIXED_MAX_CANDIDATES} is left to \`optimize quantize --auto-exclude\``,
    );
  const sensitivityRows = Math.min(o.calib.rows.length, 32);
  const r = await quantizeStatic(model, o.calib, {
    calibration: { method, threads: o.threads ?? 1 },
    reduceRange: o.reduceRange,
    baseDir: o.baseDir,
    autoExclude: limit,
    errorBudget: o.budget,
    sensitivityRows,
  });
  if (r.keptFloat.length === 0)
    throw new Error('plain static int8 is already within the budget on the calibration rows: nothing kept float');
  const parameters = {
    mode: 'static',
    calibration: method,
    reduceRange: o.reduceRange,
    calibrationRows: o.calib.rows.length,
    mixedPrecision: {
      autoExclude: limit,
      errorBudget: o.budget,
      sensitivityRows,
      keptFloat: r.keptFloat,
      sensitivity: r.sensitivity.slice(0, 8),
    },
  };
  return {
    name: `int8 static mixed (${method}, ${r.keptFloat.length} float)`,
    model: r.model,
    checkFusion: true,
    notes: r.notes,
    transform: 'quantize-static',
    parameters,
  };
}
