/**
 * Hinton-style distillation loss on one row of logits:
 *   alpha · T² · KL(softmax(t/T) ‖ softmax(z/T)) + (1 − alpha) · CE(y, softmax(z))
 * The T² keeps the soft term's gradient on the same scale as the hard term's. A row without a label
 * uses the soft term alone; a row without teacher logits (the baseline) uses the hard term alone.
 */

/** softmax(z / T) of `n` logits starting at `from`, into `out`. */
export function softmaxT(z: Float32Array, from: number, n: number, T: number, out: Float64Array): void {
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < n; i++) max = Math.max(max, z[from + i]! / T);
  let sum = 0;
  for (let i = 0; i < n; i++) {
    out[i] = Math.exp(z[from + i]! / T - max);
    sum += out[i]!;
  }
  for (let i = 0; i < n; i++) out[i]! /= sum;
}

export interface LossConfig {
  temperature: number;
  alpha: number;
}

/**
 * Adds this row's gradient (scaled by 1/batch) into dz and returns its loss.
 * `teacher`/`label` may be absent (see the file comment).
 */
export function distillRowGrad(
  z: Float32Array,
  row: number,
  classes: number,
  teacher: Float32Array | undefined,
  label: number | undefined,
  cfg: LossConfig,
  batch: number,
  dz: Float32Array,
): number {
  const off = row * classes;
  const hasLabel = label !== undefined && label >= 0;
  const alpha = teacher === undefined ? 0 : hasLabel ? cfg.alpha : 1;
  const T = cfg.temperature;
  let loss = 0;
  const ps = new Float64Array(classes);
  if (alpha > 0 && teacher) {
    const pt = new Float64Array(classes);
    softmaxT(teacher, off, classes, T, pt);
    softmaxT(z, off, classes, T, ps);
    for (let c = 0; c < classes; c++) {
      dz[off + c]! += (alpha * T * (ps[c]! - pt[c]!)) / batch;
      if (pt[c]! > 0) loss += alpha * T * T * pt[c]! * Math.log(pt[c]! / Math.max(ps[c]!, 1e-30));
    }
  }
  if (alpha < 1 && hasLabel) {
    softmaxT(z, off, classes, 1, ps);
    for (let c = 0; c < classes; c++) dz[off + c]! += ((1 - alpha) * (ps[c]! - (c === label ? 1 : 0))) / batch;
    loss -= (1 - alpha) * Math.log(Math.max(ps[label]!, 1e-30));
  }
  return loss;
}
