/**
 * Calibration of tensors anywhere in the model, named by scope (model/subgraph-scope.ts): routes them to
 * main-graph outputs (subgraph.ts), runs the usual calibration, and sorts the results into
 * ranges and tensors without one, each with the reason (a branch that never ran, an op whose body
 * cannot be read, a Loop value whose shape changes between iterations).
 */
import type { ModelProto } from '../../gen/onnx-ml_pb.js';
import type { Range } from './range.js';
import { type ExposeRequest, exposeForCalibration } from './subgraph.js';
import { type CalibrationOptions, type CalibrationResult, calibrate } from './calibrate.js';
import type { ValidationSet } from '../data/validation-set.js';

export interface ScopedCalibration {
  ranges: Map<string, Range>;
  /** Request key → why it has no range. */
  missing: Map<string, string>;
  rows: number;
}

/** Calibrate the requested tensors (main graph or subgraphs) on the rows. */
export async function calibrateScoped(
  model: ModelProto,
  set: ValidationSet,
  requests: ExposeRequest[],
  o: CalibrationOptions,
): Promise<ScopedCalibration> {
  const missing = new Map<string, string>();
  const run = (ex: ReturnType<typeof exposeForCalibration>): Promise<CalibrationResult> =>
    ex.outputs.size > 0
      ? calibrate(ex.model, set, [...new Set(ex.outputs.values())], o)
      : Promise.resolve({ ranges: new Map<string, Range>(), stats: new Map(), rows: 0 });
  let exposed = exposeForCalibration(model, requests);
  let cal: CalibrationResult;
  try {
    cal = await run(exposed);
  } catch (e) {
    const inner = requests.filter((r) => r.scopeId !== 'main');
    if (inner.length === 0) throw e;
    // Keep the main graph's quantization when a routed subgraph value breaks the run (a Loop scan
    // output must have one shape in every iteration); those tensors just get no range.
    const first = ((e as Error).message.split('\n')[0] ?? '').slice(0, 200);
    for (const r of inner) missing.set(r.key, `calibration could not read it out of its subgraph (${first})`);
    exposed = exposeForCalibration(
      model,
      requests.filter((r) => r.scopeId === 'main'),
    );
    cal = await run(exposed);
  }
  for (const [k, why] of exposed.unreachable) missing.set(k, why);
  const ranges = new Map<string, Range>();
  for (const [key, out] of exposed.outputs) {
    const s = cal.stats.get(out);
    const r = cal.ranges.get(out);
    if (s && r && s.min <= s.max) ranges.set(key, r);
    else
      missing.set(
        key,
        'no values on the calibration rows: its If branch never ran (or its loop ran zero times); give rows that take it',
      );
  }
  return { ranges, missing, rows: cal.rows };
}
