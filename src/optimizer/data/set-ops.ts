/** Small operations on validation sets: concatenation with unlabelled rows, and labels kept on only some rows. */
import type { ValidationSet } from './validation-set.js';

/** Append rows without labels (label -1) to a set; row shapes must agree. */
export function withUnlabelled(set: ValidationSet, extra: ValidationSet): ValidationSet {
  if (extra.rowShape.join('x') !== set.rowShape.join('x'))
    throw new Error(`unlabelled rows are [${extra.rowShape}] but the labelled rows are [${set.rowShape}]`);
  const labels = [...(set.labels ?? set.rows.map(() => -1)), ...extra.rows.map(() => -1)];
  return { input: set.input, rowShape: set.rowShape, rows: [...set.rows, ...extra.rows], labels };
}

/** Keep labels on only `limit` rows (spread evenly), to study distillation with scarce labels. */
export function limitLabels(set: ValidationSet, limit: number): ValidationSet {
  if (!set.labels || limit >= set.rows.length) return set;
  const every = set.rows.length / Math.max(limit, 1);
  const keep = new Set(Array.from({ length: limit }, (_, k) => Math.floor(k * every)));
  return { ...set, labels: set.labels.map((v, i) => (keep.has(i) ? v : -1)) };
}
