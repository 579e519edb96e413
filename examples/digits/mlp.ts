/**
 * A two-layer perceptron (784 → hidden → 10, ReLU, softmax cross-entropy) trained with
 * mini-batch SGD with momentum, in plain Float32Array loops. Weights are stored in ONNX MatMul
 * layout ([in, out], row-major) so they go into the model unchanged.
 *
 * Speed comes from sparsity: three quarters of an MNIST image is background (0), so the first
 * layer's forward and gradient loops visit only the ink pixels.
 */
import { CLASSES, type Digit, PIXELS } from './dataset.js';
import type { Rng } from './rng.js';

/** Trained parameters: w1 [784, hidden], b1 [hidden], w2 [hidden, 10], b2 [10]. */
export interface MlpWeights {
  hidden: number;
  w1: Float32Array;
  b1: Float32Array;
  w2: Float32Array;
  b2: Float32Array;
}

/** He-initialised weights (normal, variance 2 / fan-in) and zero biases. */
export function initWeights(hidden: number, rng: Rng): MlpWeights {
  const he = (n: number, fanIn: number) => {
    const a = new Float32Array(n);
    const std = Math.sqrt(2 / fanIn);
    for (let i = 0; i < n; i++) a[i] = rng.normal() * std;
    return a;
  };
  return {
    hidden,
    w1: he(PIXELS * hidden, PIXELS),
    b1: new Float32Array(hidden),
    w2: he(hidden * CLASSES, hidden),
    b2: new Float32Array(CLASSES),
  };
}

/** Indices of the non-zero pixels: the only ones the first layer needs to visit. */
export function inkIndices(x: Float32Array, out: Int32Array): number {
  let n = 0;
  for (let i = 0; i < x.length; i++) if (x[i] !== 0) out[n++] = i;
  return n;
}

/** Forward pass into `h` (post-ReLU hidden) and `p` (softmax probabilities). */
export function forward(
  w: MlpWeights,
  x: Float32Array,
  ink: Int32Array,
  nInk: number,
  h: Float32Array,
  p: Float32Array,
): void {
  const H = w.hidden;
  h.set(w.b1);
  for (let k = 0; k < nInk; k++) {
    const i = ink[k]!;
    const xi = x[i]!;
    const row = i * H;
    for (let j = 0; j < H; j++) h[j]! += xi * w.w1[row + j]!;
  }
  for (let j = 0; j < H; j++) if (h[j]! < 0) h[j] = 0;
  p.set(w.b2);
  for (let j = 0; j < H; j++) {
    const hj = h[j]!;
    if (hj === 0) continue;
    const row = j * CLASSES;
    for (let c = 0; c < CLASSES; c++) p[c]! += hj * w.w2[row + c]!;
  }
  let max = p[0]!;
  for (let c = 1; c < CLASSES; c++) if (p[c]! > max) max = p[c]!;
  let sum = 0;
  for (let c = 0; c < CLASSES; c++) sum += p[c] = Math.exp(p[c]! - max);
  for (let c = 0; c < CLASSES; c++) p[c]! /= sum;
}

/** The most probable class of one image. */
export function predict(w: MlpWeights, pixels: Float32Array): number {
  const ink = new Int32Array(PIXELS);
  const h = new Float32Array(w.hidden);
  const p = new Float32Array(CLASSES);
  forward(w, pixels, ink, inkIndices(pixels, ink), h, p);
  let best = 0;
  for (let c = 1; c < CLASSES; c++) if (p[c]! > p[best]!) best = c;
  return best;
}

/** Fraction of digits classified correctly. */
export function accuracy(w: MlpWeights, digits: readonly Digit[]): number {
  let ok = 0;
  for (const d of digits) if (predict(w, d.pixels) === d.label) ok++;
  return ok / digits.length;
}
