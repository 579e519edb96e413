/**
 * Mixed precision for static QDQ: which quantizable nodes to keep in float. `keepFloat` names fixed
 * positions ('first' / 'last' quantizable node in graph order, the usual stem and head suspects);
 * `autoExclude` runs a sensitivity pass on the calibration rows — each node quantized on its own,
 * the rest float — ranks the nodes by the output error that alone causes (mean abs error relative to
 * the mean |fp32 output|), and keeps the worst up to N in float, stopping early once the whole
 * quantized model's error is within `errorBudget`.
 */
import type { ModelProto, NodeProto } from '../../gen/onnx-ml_pb.js';
import type { CalibrationFeeds } from '../calibrate/feeds.js';
import type { ValidationSet } from '../data/validation-set.js';
import { createSession } from '../measure/ort.js';
import { relativeOutputError } from './output-error.js';

export type KeepFloatPosition = 'first' | 'last';

export interface MixedPrecisionOptions {
  /** Fixed positions among the quantizable nodes to keep in float. */
  keepFloat?: KeepFloatPosition[];
  /** Keep up to this many of the most sensitive nodes in float (sensitivity pass on the calibration rows). */
  autoExclude?: number;
  /** Stop adding nodes once the quantized model's relative mean abs error is at or below this. */
  errorBudget?: number;
  /** Calibration rows the sensitivity pass runs on (default 32, the first rows). */
  sensitivityRows?: number;
}

export interface NodeSensitivity {
  node: string;
  opType: string;
  /** Relative mean abs error of the output with only this node quantized. */
  error: number;
}

export interface KeptFloat {
  node: string;
  reason: string;
}

export interface MixedPrecisionResult {
  kept: KeptFloat[];
  /** Every candidate's error alone, worst first (only when the sensitivity pass ran). */
  sensitivity: NodeSensitivity[];
  /** Relative mean abs error of the final model on the sensitivity rows (when the pass ran). */
  finalError?: number;
}

/** Builds the quantized model that keeps the given quantizable node names in float. */
export type BuildQuantized = (keepFloat: string[]) => Promise<ModelProto>;

export function parseKeepFloat(items: string[]): KeepFloatPosition[] {
  for (const i of items)
    if (i !== 'first' && i !== 'last') throw new Error(`--keep-float "${i}": expected first, last or first,last`);
  return items as KeepFloatPosition[];
}

/** Node names kept float by position. */
export function positionalKeep(nodes: NodeProto[], keep: KeepFloatPosition[] = []): KeptFloat[] {
  const out: KeptFloat[] = [];
  const label = (n: NodeProto) => n.name;
  if (keep.includes('first') && nodes[0]) out.push({ node: label(nodes[0]), reason: 'first quantizable node' });
  const last = nodes[nodes.length - 1];
  if (keep.includes('last') && last && !out.some((k) => k.node === last.name))
    out.push({ node: label(last), reason: 'last quantizable node' });
  return out;
}

/**
 * Choose the nodes to keep float. `nodes` are the quantizable nodes (all named), `build` makes a
 * variant, `fp32` is the reference model, `set` the calibration rows; `run` feeds the model's other
 * inputs and sets the rows per run (a streaming model is compared as calibrated, frame by frame).
 */
export async function chooseMixedPrecision(
  nodes: NodeProto[],
  fp32: ModelProto,
  set: ValidationSet,
  build: BuildQuantized,
  o: MixedPrecisionOptions,
  onProgress?: (done: number, total: number) => void,
  run: { feeds?: CalibrationFeeds; batch?: number } = {},
): Promise<MixedPrecisionResult> {
  const kept = positionalKeep(nodes, o.keepFloat);
  const n = o.autoExclude ?? 0;
  if (n <= 0) return { kept, sensitivity: [] };
  const rows = { ...set, rows: set.rows.slice(0, o.sensitivityRows ?? 32), labels: undefined };
  const ref = await createSession(fp32, { threads: 1 });
  const errorOf = async (keep: string[]): Promise<number> => {
    const s = await createSession(await build(keep), { threads: 1 });
    try {
      return await relativeOutputError(ref, s, rows, run.feeds, run.batch ?? 8);
    } finally {
      await s.release();
    }
  };
  try {
    const names = nodes.map((x) => x.name);
    const fixed = new Set(kept.map((k) => k.node));
    const candidates = nodes.filter((x) => !fixed.has(x.name));
    const sensitivity: NodeSensitivity[] = [];
    const total = candidates.length;
    for (const [i, c] of candidates.entries()) {
      const error = await errorOf(names.filter((x) => x !== c.name));
      sensitivity.push({ node: c.name, opType: c.opType, error });
      onProgress?.(i + 1, total);
    }
    sensitivity.sort((a, b) => b.error - a.error);
    const keepNames = () => kept.map((k) => k.node);
    let finalError = await errorOf(keepNames());
    for (const s of sensitivity.slice(0, n)) {
      if (o.errorBudget !== undefined && finalError <= o.errorBudget) break;
      kept.push({
        node: s.node,
        reason: `sensitivity: ${(s.error * 100).toFixed(3)}% relative error when quantized alone`,
      });
      finalError = await errorOf(keepNames());
    }
    return { kept, sensitivity, finalError };
  } finally {
    await ref.release();
  }
}
