/**
 * Calibration statistics of one tensor and the ranges the calibrators derive from them:
 * MinMax (observed extremes), Percentile (clip the |x| tail), Entropy (KL-divergence threshold
 * search, TensorRT style). Percentile and Entropy work on a histogram of |x| over [0, absMax] that a
 * second calibration pass fills once the first pass has found absMax.
 */

/** Running extremes plus an optional |x| histogram of one tensor. */
export interface TensorStats {
  min: number;
  max: number;
  /** Counts of |x| in `hist.length` equal bins over [0, histTop]. */
  hist?: Float64Array;
  histTop?: number;
  /** Exact zeros, kept out of the histogram: zero is exactly representable, and a ReLU's spike at 0
   * would otherwise dominate the KL search and drag the entropy threshold far down. */
  zeros?: number;
}

export type CalibrationMethod = 'minmax' | 'percentile' | 'entropy';

export interface RangeOptions {
  method: CalibrationMethod;
  /** Percentile of |x| kept by the percentile calibrator (default 99.999). */
  percentile?: number;
  /**
   * Floor for the entropy threshold, as a percentile of |x| (default 99.9; 0 = pure KL). KL search
   * over spiky histograms (a constant background gives every channel a Relu(bias) spike) prefers
   * cuts that resolve the spikes and clips real signal: pure KL took a digit CNN from 93.8% to 49%.
   */
  entropyCoverage?: number;
}

export interface Range {
  min: number;
  max: number;
}

/** Fold a batch of values into the running min/max. */
export function updateMinMax(s: TensorStats, data: Float32Array): void {
  let lo = s.min;
  let hi = s.max;
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  s.min = lo;
  s.max = hi;
}

/** Start a |x| histogram of `bins` bins over the absolute range found by the min/max pass. */
export function startHistogram(s: TensorStats, bins: number): void {
  s.hist = new Float64Array(bins);
  s.histTop = Math.max(Math.abs(s.min), Math.abs(s.max));
  s.zeros = 0;
}

/** Count a batch of values into the histogram (values at the top edge land in the last bin). */
export function updateHistogram(s: TensorStats, data: Float32Array): void {
  const hist = s.hist!;
  const top = s.histTop!;
  const bins = hist.length;
  const k = top > 0 ? bins / top : 0;
  let zeros = 0;
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    if (v === 0) {
      zeros++;
      continue;
    }
    const b = Math.floor(Math.abs(v) * k);
    hist[b < bins ? b : bins - 1]!++;
  }
  s.zeros = (s.zeros ?? 0) + zeros;
}

/** The |x| value below which `pct` percent of the histogram's mass lies (upper bin edge). */
export function histogramPercentile(hist: Float64Array, top: number, pct: number, zeros = 0): number {
  let total = zeros;
  for (const c of hist) total += c;
  const want = (pct / 100) * total;
  let acc = zeros;
  for (let i = 0; i < hist.length; i++) {
    acc += hist[i]!;
    if (acc >= want) return ((i + 1) * top) / hist.length;
  }
  return top;
}

/** The calibrated range of a tensor; clipping thresholds never widen the observed range. */
export function calibratedRange(s: TensorStats, o: RangeOptions): Range {
  if (o.method === 'minmax' || !s.hist || !s.histTop || !s.hist.some((c) => c > 0)) return { min: s.min, max: s.max };
  const levels = s.min >= 0 ? 256 : 128; // uint8 spends all levels on one side for non-negative data
  const cover = o.entropyCoverage ?? 99.9;
  const t =
    o.method === 'percentile'
      ? histogramPercentile(s.hist, s.histTop, o.percentile ?? 99.999, s.zeros)
      : Math.max(
          entropyThreshold(s.hist, s.histTop, levels),
          cover > 0 ? histogramPercentile(s.hist, s.histTop, cover, s.zeros) : 0,
        );
  return { min: Math.max(s.min, -t), max: Math.min(s.max, t) };
}

/**
 * KL-divergence threshold search: for every candidate cut i (from `levels` bins to all bins), compare
 * the clipped reference distribution P (tail folded into the last kept bin) with its quantized
 * version Q (i bins merged into `levels` groups, spread back over the non-empty bins); return the
 * |x| threshold of the cut with the smallest KL(P||Q). With as many bins as levels there is a single
 * candidate, which is why the histogram must be much finer than the quantization grid.
 */
export function entropyThreshold(hist: Float64Array, top: number, levels: number): number {
  const bins = hist.length;
  if (bins <= levels) return top;
  const suffix = new Float64Array(bins + 1);
  for (let i = bins - 1; i >= 0; i--) suffix[i] = suffix[i + 1]! + hist[i]!;
  let best = bins;
  let bestKl = Number.POSITIVE_INFINITY;
  const p = new Float64Array(bins);
  const q = new Float64Array(bins);
  for (let i = levels; i <= bins; i++) {
    const kl = klAtCut(hist, suffix, i, levels, p, q);
    if (kl < bestKl) {
      bestKl = kl;
      best = i;
    }
  }
  return (best * top) / bins;
}

// KL(P||Q) for the first `cut` bins quantized into `levels` groups; p and q are scratch buffers.
function klAtCut(
  hist: Float64Array,
  suffix: Float64Array,
  cut: number,
  levels: number,
  p: Float64Array,
  q: Float64Array,
): number {
  for (let j = 0; j < cut; j++) p[j] = hist[j]!;
  p[cut - 1]! += suffix[cut]!;
  for (let g = 0; g < levels; g++) {
    const from = Math.floor((g * cut) / levels);
    const to = Math.floor(((g + 1) * cut) / levels);
    let sum = 0;
    let nonZero = 0;
    for (let j = from; j < to; j++) {
      sum += hist[j]!;
      if (hist[j]! > 0) nonZero++;
    }
    const each = nonZero > 0 ? sum / nonZero : 0;
    for (let j = from; j < to; j++) q[j] = hist[j]! > 0 ? each : 0;
  }
  // The tail folded into P's last bin is absent from Q: that mismatch is the clipping cost.
  let pSum = 0;
  let qSum = 0;
  for (let j = 0; j < cut; j++) {
    pSum += p[j]!;
    qSum += q[j]!;
  }
  if (pSum === 0 || qSum === 0) return Number.POSITIVE_INFINITY;
  let kl = 0;
  for (let j = 0; j < cut; j++) {
    if (p[j]! === 0) continue;
    const pj = p[j]! / pSum;
    // A bin P has but Q lost gets a tiny mass instead of an infinite divergence.
    const qj = q[j]! > 0 ? q[j]! / qSum : 1e-12;
    kl += pj * Math.log(pj / qj);
  }
  return kl;
}
