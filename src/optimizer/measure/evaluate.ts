/**
 * Accuracy of a variant against the original on a validation set: top-1 and agreement for
 * classifiers (when labels are given or the output looks like class scores), max/mean abs error always.
 */
import * as ort from 'onnxruntime-node';
import type { ValidationSet } from '../data/validation-set.js';

export interface AccuracyStats {
  samples: number;
  maxAbsErr: number;
  meanAbsErr: number;
  /** Mean |original output|, so errors can be judged relative to the output's scale. */
  meanAbsRef?: number;
  /** Fraction of rows whose argmax equals the original's (classifiers only). */
  agreement?: number;
  /** Top-1 against labels, for the original and the variant. */
  top1Original?: number;
  top1?: number;
}

function argmax(a: Float32Array, from: number, n: number): number {
  let best = from;
  for (let i = from + 1; i < from + n; i++) if (a[i]! > a[best]!) best = i;
  return best - from;
}

/** Run both sessions over the set (batches of `batch`) and compare their first outputs. */
/** One batch of validation rows as the model's input tensor [rows, ...rowShape]. */
export function rowsTensor(set: ValidationSet, rows: readonly Float32Array[]): ort.Tensor {
  const rowLen = set.rowShape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(rows.length * rowLen);
  for (const [i, r] of rows.entries()) data.set(r, i * rowLen);
  return new ort.Tensor('float32', data, [rows.length, ...set.rowShape]);
}

export async function compareOnSet(
  original: ort.InferenceSession,
  variant: ort.InferenceSession,
  set: ValidationSet,
  batch = 64,
): Promise<AccuracyStats> {
  let maxAbs = 0;
  let sumAbs = 0;
  let sumRef = 0;
  let count = 0;
  let agree = 0;
  let hitsO = 0;
  let hitsV = 0;
  let classes = 0;
  for (let start = 0; start < set.rows.length; start += batch) {
    const rows = set.rows.slice(start, start + batch);
    const feeds = { [set.input]: rowsTensor(set, rows) };
    const a = (await original.run(feeds))[original.outputNames[0]!]!;
    const b = (await variant.run(feeds))[variant.outputNames[0]!]!;
    const da = a.data as Float32Array;
    const db = b.data as Float32Array;
    for (let i = 0; i < da.length; i++) {
      const d = Math.abs(da[i]! - db[i]!);
      maxAbs = Math.max(maxAbs, d);
      sumAbs += d;
      sumRef += Math.abs(da[i]!);
    }
    count += da.length;
    classes = a.dims.length === 2 ? Number(a.dims[1]) : 0;
    if (classes > 1) {
      for (let r = 0; r < rows.length; r++) {
        const ca = argmax(da, r * classes, classes);
        const cb = argmax(db, r * classes, classes);
        if (ca === cb) agree++;
        const label = set.labels?.[start + r];
        if (label !== undefined) {
          if (ca === label) hitsO++;
          if (cb === label) hitsV++;
        }
      }
    }
  }
  const n = set.rows.length;
  const stats: AccuracyStats = { samples: n, maxAbsErr: maxAbs, meanAbsErr: sumAbs / Math.max(count, 1) };
  stats.meanAbsRef = sumRef / Math.max(count, 1);
  if (classes > 1) stats.agreement = agree / n;
  if (classes > 1 && set.labels) {
    stats.top1Original = hitsO / n;
    stats.top1 = hitsV / n;
  }
  return stats;
}
