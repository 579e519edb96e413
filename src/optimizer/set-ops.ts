/** Small operations on validation sets: seeded shuffle-split and concatenation with unlabelled rows. */
import type { ValidationSet } from './evaluate.js';
import { seededRandom } from './mlp-student.js';

/** Split off a `fraction` of rows after a seeded shuffle (data files are often sorted by class). */
export function shuffleSplit(set: ValidationSet, fraction: number, seed: number): [ValidationSet, ValidationSet] {
  const order = set.rows.map((_, i) => i);
  const next = seededRandom(seed);
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  const cut = Math.round(order.length * (1 - fraction));
  const part = (idx: number[]): ValidationSet => {
    const s: ValidationSet = { input: set.input, rowShape: set.rowShape, rows: idx.map((i) => set.rows[i]!) };
    if (set.labels) s.labels = idx.map((i) => set.labels![i]!);
    return s;
  };
  return [part(order.slice(0, cut)), part(order.slice(cut))];
}

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
