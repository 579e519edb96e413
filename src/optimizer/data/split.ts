/**
 * How one data file is divided, in one place.
 *
 * Calibration and validation (`optimize quantize --mode static` and `optimize auto` without
 * --calib-data): rows keep their file order, the first `n` calibrate and the rest validate. Rows are
 * never shuffled for calibration: a streaming model's frames carry state from row to row, and a
 * model that branches on a whole batch (an If on the batch mean) sees the batches the file makes.
 * With fewer than 2n rows nothing is held out and both use every row. A file sorted by class should
 * be shuffled before, or its calibration rows given apart with --calib-data.
 *
 * Distillation's training/validation hold-out (`optimize distill` without --val-data) is a
 * training split, and is shuffled with the command's --seed (`shuffleSplit`).
 */
import { seededRandom } from '../../core/random.js';
import type { ValidationSet } from './validation-set.js';

/** The calibration/validation policy in words, for `--help` and notes. */
export const CALIBRATION_SPLIT_POLICY =
  'the first N rows in file order calibrate and the rest validate (never shuffled; under 2N rows both use every row)';

export interface CalibrationSplit {
  calib: ValidationSet;
  val: ValidationSet;
  /** Rows were held out for validation; false when there were fewer than 2n (both are the whole set). */
  heldOut: boolean;
}

/** The first `n` rows calibrate, the rest validate; both are the whole set under 2n rows. */
export function calibrationSplit(set: ValidationSet, n: number): CalibrationSplit {
  if (set.rows.length < 2 * n) return { calib: set, val: set, heldOut: false };
  const order = set.rows.map((_, i) => i);
  return { calib: rowsAt(set, order.slice(0, n)), val: rowsAt(set, order.slice(n)), heldOut: true };
}

/** Split off a `fraction` of rows after a seeded shuffle (distillation's hold-out; data files are often sorted by class). */
export function shuffleSplit(set: ValidationSet, fraction: number, seed: number): [ValidationSet, ValidationSet] {
  const order = set.rows.map((_, i) => i);
  const next = seededRandom(seed);
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  const cut = Math.round(order.length * (1 - fraction));
  return [rowsAt(set, order.slice(0, cut)), rowsAt(set, order.slice(cut))];
}

/** The rows (and their labels) at `idx`, in that order. */
function rowsAt(set: ValidationSet, idx: number[]): ValidationSet {
  const s: ValidationSet = { input: set.input, rowShape: set.rowShape, rows: idx.map((i) => set.rows[i]!) };
  if (set.labels) s.labels = idx.map((i) => set.labels![i]!);
  return s;
}
