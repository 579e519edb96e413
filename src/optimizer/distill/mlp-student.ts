/**
 * A small fully connected network trained in plain TypeScript (Float32Array math, no training
 * runtime exists in onnxruntime-node): ReLU hidden layers, seeded He initialisation, Adam. The loss
 * is supplied as the gradient on the output logits, so distillation and hard-label training share it.
 */

import { seededRandom } from '../../core/random.js';

/** Weights of one layer: w is [in, out] row-major (ONNX MatMul layout), b is [out]. */
export interface DenseLayer {
  inFeatures: number;
  outFeatures: number;
  w: Float32Array;
  b: Float32Array;
}

export { seededRandom };

/** Layers for sizes [in, hidden..., out] with He-uniform weights and zero biases. */
export function initMlp(sizes: number[], seed: number): DenseLayer[] {
  const next = seededRandom(seed);
  const layers: DenseLayer[] = [];
  for (let l = 0; l + 1 < sizes.length; l++) {
    const [n, m] = [sizes[l]!, sizes[l + 1]!];
    const bound = Math.sqrt(6 / n);
    const w = Float32Array.from({ length: n * m }, () => (next() * 2 - 1) * bound);
    layers.push({ inFeatures: n, outFeatures: m, w, b: new Float32Array(m) });
  }
  return layers;
}

/** y[B,m] = x[B,n]·W + b, skipping zero inputs (images are mostly background). */
function affine(x: Float32Array, rows: number, l: DenseLayer): Float32Array {
  const { inFeatures: n, outFeatures: m, w, b } = l;
  const y = new Float32Array(rows * m);
  for (let r = 0; r < rows; r++) {
    const yo = r * m;
    y.set(b, yo);
    for (let k = 0; k < n; k++) {
      const v = x[r * n + k]!;
      if (v === 0) continue;
      const wo = k * m;
      for (let j = 0; j < m; j++) y[yo + j]! += v * w[wo + j]!;
    }
  }
  return y;
}

/** Forward pass; returns every layer's activation (index 0 = input, last = logits). */
export function forward(layers: DenseLayer[], x: Float32Array, rows: number): Float32Array[] {
  const acts = [x];
  layers.forEach((l, i) => {
    const y = affine(acts[i]!, rows, l);
    if (i + 1 < layers.length) for (let j = 0; j < y.length; j++) if (y[j]! < 0) y[j] = 0;
    acts.push(y);
  });
  return acts;
}

/** Gradients of every layer from the gradient on the logits (already averaged over the batch). */
export function backward(
  layers: DenseLayer[],
  acts: Float32Array[],
  dLogits: Float32Array,
  rows: number,
): DenseLayer[] {
  const grads: DenseLayer[] = layers.map((l) => ({
    ...l,
    w: new Float32Array(l.w.length),
    b: new Float32Array(l.b.length),
  }));
  let d = dLogits;
  for (let i = layers.length - 1; i >= 0; i--) {
    const { inFeatures: n, outFeatures: m, w } = layers[i]!;
    const x = acts[i]!;
    const g = grads[i]!;
    for (let r = 0; r < rows; r++) for (let j = 0; j < m; j++) g.b[j]! += d[r * m + j]!;
    for (let r = 0; r < rows; r++)
      for (let k = 0; k < n; k++) {
        const v = x[r * n + k]!;
        if (v === 0) continue;
        for (let j = 0; j < m; j++) g.w[k * m + j]! += v * d[r * m + j]!;
      }
    if (i === 0) break;
    const dx = new Float32Array(rows * n);
    for (let r = 0; r < rows; r++)
      for (let k = 0; k < n; k++) {
        if (x[r * n + k]! <= 0) continue; // ReLU gate of the previous layer
        let s = 0;
        for (let j = 0; j < m; j++) s += w[k * m + j]! * d[r * m + j]!;
        dx[r * n + k] = s;
      }
    d = dx;
  }
  return grads;
}

/** Adam state for a list of layers. */
export class Adam {
  private readonly m: Float32Array[];
  private readonly v: Float32Array[];
  private t = 0;

  constructor(
    layers: DenseLayer[],
    private readonly lr = 1e-3,
    private readonly beta1 = 0.9,
    private readonly beta2 = 0.999,
  ) {
    this.m = layers.flatMap((l) => [new Float32Array(l.w.length), new Float32Array(l.b.length)]);
    this.v = layers.flatMap((l) => [new Float32Array(l.w.length), new Float32Array(l.b.length)]);
  }

  /** One update of every parameter from its gradient. */
  step(layers: DenseLayer[], grads: DenseLayer[]): void {
    this.t++;
    const c1 = 1 - this.beta1 ** this.t;
    const c2 = 1 - this.beta2 ** this.t;
    const params = layers.flatMap((l) => [l.w, l.b]);
    const gs = grads.flatMap((g) => [g.w, g.b]);
    params.forEach((p, i) => {
      const [g, m, v] = [gs[i]!, this.m[i]!, this.v[i]!];
      for (let j = 0; j < p.length; j++) {
        m[j] = this.beta1 * m[j]! + (1 - this.beta1) * g[j]!;
        v[j] = this.beta2 * v[j]! + (1 - this.beta2) * g[j]! * g[j]!;
        p[j]! -= (this.lr * (m[j]! / c1)) / (Math.sqrt(v[j]! / c2) + 1e-8);
      }
    });
  }
}
