// The statistics behind the rollout analysis (analysis.ts): the normal distribution, score
// intervals for one and two proportions, a score test for a difference of proportions with a
// margin, a Mann–Whitney rank test on histogram data, and histogram quantiles. Pure arithmetic on
// counts, so that a decision can be recomputed from the numbers in its audit record.

const SQRT2 = Math.SQRT2;
const INV_SQRT_PI = 1 / Math.sqrt(Math.PI);

/**
 * erfc(x) for x ≥ 0, to about 1e-15 relative. Below 2.5 a positive-term series of erf (no
 * cancellation, unlike the alternating Taylor series); above it the Laplace continued fraction
 * (evaluated with Lentz's method), which keeps relative precision in the far tail where 1 − erf
 * would round to 0. Written out rather than approximated (Abramowitz–Stegun 7.1.26 is only good
 * to 1.5e-7 absolute, too coarse for p-values that an audit record quotes).
 */
function erfcNonNegative(x: number): number {
  if (x < 2.5) {
    // erf(x) = 2/√π · e^{−x²} · Σ (2x²)^n · x / (2n+1)!!
    const x2 = x * x;
    let term = x;
    let sum = x;
    for (let n = 1; n < 200 && term > sum * 1e-17; n++) {
      term *= (2 * x2) / (2 * n + 1);
      sum += term;
    }
    return 1 - 2 * INV_SQRT_PI * Math.exp(-x2) * sum;
  }
  // erfc(x) = e^{−x²}/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + …))))
  const tiny = 1e-300;
  let f = x;
  let c = x;
  let d = 0;
  for (let n = 1; n < 500; n++) {
    const a = n / 2;
    d = x + a * d;
    c = x + a / c;
    if (Math.abs(d) < tiny) d = tiny;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return (Math.exp(-x * x) * INV_SQRT_PI) / f;
}

/** P(Z > z) for a standard normal Z, accurate in both tails. */
export function normalSf(z: number): number {
  if (Number.isNaN(z)) return Number.NaN;
  return z >= 0 ? 0.5 * erfcNonNegative(z / SQRT2) : 1 - 0.5 * erfcNonNegative(-z / SQRT2);
}

/**
 * The z with P(Z > z) = q, 0 < q < 1. Bisection on normalSf: it needs no remembered rational
 * coefficients, its error is that of normalSf, and it is only called a few times per analysis.
 */
export function normalIsf(q: number): number {
  if (!(q > 0 && q < 1)) throw new RangeError(`normalIsf: q must be in (0, 1), got ${q}`);
  let lo = -40;
  let hi = 40;
  for (let i = 0; i < 200; i++) {
    const mid = (lo + hi) / 2;
    if (mid === lo || mid === hi) break;
    if (normalSf(mid) > q) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

export interface Bounds {
  lower: number;
  upper: number;
}

/**
 * Wilson score bounds for x successes in n trials at critical value z (z = z_{1−α} gives the
 * one-sided 1−α bounds). Chosen over the Wald interval because it stays inside [0, 1] and does not
 * collapse to a zero-width interval at x = 0 or x = n, the usual case for a healthy model's
 * disagreement or error counts. It is the inversion of the one-proportion score test
 * (oneProportionScoreTest), so the bound and the p-value always agree. n = 0 gives [0, 1].
 */
export function wilsonBounds(x: number, n: number, z: number): Bounds {
  if (n === 0) return { lower: 0, upper: 1 };
  const p = x / n;
  const z2n = (z * z) / n;
  const center = (p + z2n / 2) / (1 + z2n);
  const half = (z / (1 + z2n)) * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n));
  // Clamp: at x = 0 (x = n) the exact bound is 0 (1), and rounding can leave it at ±1e-18.
  return {
    lower: x === 0 ? 0 : Math.max(0, center - half),
    upper: x === n ? 1 : Math.min(1, center + half),
  };
}

export interface ZTest {
  z: number;
  /** One-sided p-value for the alternative "greater". */
  pValue: number;
}

/** Score test of H0: p ≤ p0 against p > p0 (the test that the Wilson interval inverts). */
export function oneProportionScoreTest(x: number, n: number, p0: number): ZTest {
  const diff = x / n - p0;
  const variance = (p0 * (1 - p0)) / n;
  if (variance === 0) {
    // p0 = 0: one disagreement is already proof that p > 0; none is no evidence at all.
    const z = diff > 0 ? Number.POSITIVE_INFINITY : 0;
    return { z, pValue: diff > 0 ? 0 : 1 };
  }
  const z = diff / Math.sqrt(variance);
  return { z, pValue: normalSf(z) };
}

/**
 * Newcombe's hybrid score bounds (method 10 of Newcombe 1998) for p1 − p2, built from the Wilson
 * bounds of each arm at critical value z. Chosen because it is closed-form, has close to nominal
 * coverage down to small counts, and — unlike the Wald interval, whose standard error is 0 when
 * both arms have no errors — still gives a bound of honest width when an arm has zero errors.
 */
export function newcombeDiffBounds(x1: number, n1: number, x2: number, n2: number, z: number): Bounds {
  const p1 = x1 / n1;
  const p2 = x2 / n2;
  const w1 = wilsonBounds(x1, n1, z);
  const w2 = wilsonBounds(x2, n2, z);
  const d = p1 - p2;
  return {
    lower: d - Math.hypot(p1 - w1.lower, w2.upper - p2),
    upper: d + Math.hypot(w1.upper - p1, p2 - w2.lower),
  };
}

/** a/b that reads 0/0 as 0: a log-likelihood term with a zero count contributes nothing. */
function term(count: number, p: number): number {
  return count === 0 ? 0 : count / p;
}

/**
 * The maximum-likelihood (p1, p2) under the constraint p1 − p2 = delta. The constrained
 * log-likelihood is concave in p2, so its derivative is decreasing and bisection finds the root;
 * Farrington and Manning give a closed-form cubic root instead, but bisection has no branch cuts
 * and handles the boundary cases (zero counts, p2 = 0) without special formulas.
 */
function restrictedMle(x1: number, n1: number, x2: number, n2: number, delta: number): [number, number] {
  const score = (p2: number): number => {
    const p1 = p2 + delta;
    return term(x1, p1) - term(n1 - x1, 1 - p1) + term(x2, p2) - term(n2 - x2, 1 - p2);
  };
  let lo = Math.max(0, -delta);
  let hi = Math.min(1, 1 - delta);
  if (score(lo) <= 0) return [lo + delta, lo];
  if (score(hi) >= 0) return [hi + delta, hi];
  for (let i = 0; i < 200; i++) {
    const mid = (lo + hi) / 2;
    if (mid === lo || mid === hi) break;
    if (score(mid) > 0) lo = mid;
    else hi = mid;
  }
  const p2 = (lo + hi) / 2;
  return [p2 + delta, p2];
}

/**
 * Score test (Farrington–Manning 1990; Miettinen–Nurminen without their n/(n−1) factor) of
 * H0: p1 − p2 ≤ delta against p1 − p2 > delta, with the variance taken at the maximum-likelihood
 * estimate under the null boundary. The usual test for a non-inferiority margin: unlike the
 * pooled z-test it allows delta ≠ 0, and unlike the unpooled Wald test its variance is not 0 when
 * an arm has no errors. With delta = 0 it is exactly the pooled two-proportion z-test.
 */
export function diffScoreTest(x1: number, n1: number, x2: number, n2: number, delta: number): ZTest {
  const [q1, q2] = restrictedMle(x1, n1, x2, n2, delta);
  const diff = x1 / n1 - x2 / n2 - delta;
  const variance = (q1 * (1 - q1)) / n1 + (q2 * (1 - q2)) / n2;
  if (variance === 0) {
    // Both restricted rates at 0 or 1: the data sit exactly on the null boundary.
    return { z: 0, pValue: 0.5 };
  }
  const z = diff / Math.sqrt(variance);
  return { z, pValue: normalSf(z) };
}

export interface RankTest extends ZTest {
  /** Mann–Whitney U of x: pairs with x > y plus half the tied pairs. */
  u: number;
  nx: number;
  ny: number;
}

/**
 * One-sided Mann–Whitney U test of "x is stochastically greater than y" on binned data: each bin
 * is one tie group (every value in it gets the bin's midrank). Normal approximation with the tie
 * correction of the variance and a 0.5 continuity correction, which is what
 * scipy.stats.mannwhitneyu(x, y, alternative='greater', method='asymptotic', use_continuity=True)
 * computes on the same data. Binning can only add ties, which the tie correction accounts for, so
 * the test stays valid (if less powerful) on coarse buckets.
 */
export function mannWhitneyBinned(xCounts: readonly number[], yCounts: readonly number[]): RankTest {
  let nx = 0;
  let ny = 0;
  let u = 0;
  let tieTerm = 0;
  for (let k = 0; k < xCounts.length; k++) {
    const xk = xCounts[k] ?? 0;
    const yk = yCounts[k] ?? 0;
    // x values in bin k beat every y below it and tie with the y values in it.
    u += xk * (ny + yk / 2);
    nx += xk;
    ny += yk;
    const t = xk + yk;
    tieTerm += t * (t - 1) * (t + 1);
  }
  const n = nx + ny;
  if (nx === 0 || ny === 0) return { u, z: 0, pValue: 1, nx, ny };
  const bracket = n + 1 - tieTerm / (n * (n - 1));
  // All values in one bin: no ordering information at all (the bracket is 0 up to rounding).
  if (!(bracket > 1e-9 * (n + 1))) return { u, z: 0, pValue: 1, nx, ny };
  const sd = Math.sqrt(((nx * ny) / 12) * bracket);
  const z = (u - (nx * ny) / 2 - 0.5) / sd;
  return { u, z, pValue: normalSf(z), nx, ny };
}

export interface HistogramQuantile {
  value: number;
  /** The quantile fell in the +Inf bucket: value is the last finite bound, a lower bound. */
  censored: boolean;
}

/**
 * Quantile q of a histogram whose bucket i covers (bounds[i−1], bounds[i]] (the first from 0, the
 * last to +Inf), interpolated linearly within the bucket, as Prometheus' histogram_quantile does.
 * Null when the histogram is empty.
 */
export function histogramQuantile(
  bounds: readonly number[],
  counts: readonly number[],
  q: number,
): HistogramQuantile | null {
  const total = counts.reduce((a, b) => a + b, 0);
  if (total === 0) return null;
  const rank = q * total;
  let below = 0;
  for (let i = 0; i < counts.length; i++) {
    const c = counts[i] ?? 0;
    if (c > 0 && below + c >= rank) {
      if (i >= bounds.length) return { value: bounds[bounds.length - 1] ?? 0, censored: true };
      const upper = bounds[i]!;
      const lower = i === 0 ? Math.min(0, upper) : bounds[i - 1]!;
      return { value: lower + ((upper - lower) * Math.max(0, rank - below)) / c, censored: false };
    }
    below += c;
  }
  return { value: bounds[bounds.length - 1] ?? 0, censored: true };
}
