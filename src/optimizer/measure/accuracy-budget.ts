/**
 * The accuracy budget every guarded choice uses (prune sweep, auto): one "loss" number per variant,
 * from the best evidence available — top-1 drop against labels, else disagreement with the
 * original's argmax (classifiers), else mean absolute error relative to the mean |output|.
 */
import type { AccuracyStats } from './evaluate.js';

export interface AccuracyLoss {
  /** Fraction, e.g. 0.004 = 0.4 points of top-1; negative when the variant is better. */
  loss: number;
  metric: 'top-1 drop' | 'disagreement with original' | 'relative mean abs error';
}

/** Parse "0.5%", "0.005" or "0.5pt" into a fraction (0.005). */
export function parseBudget(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(%|pt|points?)?\s*$/.exec(text);
  if (!m) throw new Error(`accuracy budget "${text}": expected e.g. 0.5% or 0.005`);
  const v = Number(m[1]);
  return m[2] ? v / 100 : v;
}

/** The loss of a variant against the original, and which metric it is. */
export function accuracyLoss(a: AccuracyStats): AccuracyLoss {
  if (a.top1 !== undefined && a.top1Original !== undefined)
    return { loss: a.top1Original - a.top1, metric: 'top-1 drop' };
  if (a.agreement !== undefined) return { loss: 1 - a.agreement, metric: 'disagreement with original' };
  return { loss: a.meanAbsErr / Math.max(a.meanAbsRef ?? 1, 1e-12), metric: 'relative mean abs error' };
}

/** "0.35%" style text for a loss fraction. */
export function formatLoss(v: number): string {
  return `${(v * 100).toFixed(2)}%`;
}
