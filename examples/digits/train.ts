/**
 * The training loop for the digits MLP: mini-batch SGD with momentum, a cosine learning-rate
 * schedule, and a fresh random affine warp of every image in every epoch (see augment.ts).
 */
import { CLASSES, type Digit, PIXELS } from './dataset.js';
import { forward, initWeights, inkIndices, type MlpWeights } from './mlp.js';
import { DEFAULT_WARP, randomWarp, type WarpLimits } from './augment.js';
import { Rng } from './rng.js';

/** Training hyper-parameters; the defaults reach 97.1 % held-out accuracy in ~40 s of CPU. */
export interface TrainOptions {
  hidden?: number;
  epochs?: number;
  batchSize?: number;
  learningRate?: number;
  momentum?: number;
  /** Limits of the random affine warp applied to each training image; null disables it. */
  warp?: WarpLimits | null;
  seed?: number;
  /** Called after each epoch, e.g. to print progress. */
  onEpoch?: (epoch: number, loss: number) => void;
}

const DEFAULTS = { hidden: 192, epochs: 16, batchSize: 32, learningRate: 0.05, momentum: 0.9, seed: 7 };

/** Scratch buffers reused across samples so the inner loop allocates nothing. */
interface Scratch {
  x: Float32Array;
  ink: Int32Array;
  h: Float32Array;
  p: Float32Array;
  dh: Float32Array;
  grad: MlpWeights;
  velocity: MlpWeights;
}

/** Trains the MLP on `digits`; deterministic for a given seed. */
export function trainMlp(digits: readonly Digit[], options: TrainOptions = {}): MlpWeights {
  const o = { ...DEFAULTS, warp: DEFAULT_WARP as WarpLimits | null, ...options };
  const rng = new Rng(o.seed);
  const w = initWeights(o.hidden, rng);
  const s = scratch(o.hidden);
  const order = digits.map((_, i) => i);
  const steps = o.epochs * Math.ceil(digits.length / o.batchSize);
  let step = 0;
  for (let epoch = 0; epoch < o.epochs; epoch++) {
    rng.shuffle(order);
    let loss = 0;
    for (let start = 0; start < order.length; start += o.batchSize) {
      zero(s.grad);
      const end = Math.min(start + o.batchSize, order.length);
      for (let k = start; k < end; k++) {
        const d = digits[order[k]!]!;
        if (o.warp) randomWarp(d.pixels, s.x, rng, o.warp);
        else s.x.set(d.pixels);
        loss += accumulate(w, s, d.label);
      }
      const lr = (o.learningRate * 0.5 * (1 + Math.cos((Math.PI * step++) / steps))) / (end - start);
      update(w, s, lr, o.momentum);
    }
    o.onEpoch?.(epoch + 1, loss / digits.length);
  }
  return w;
}

function scratch(hidden: number): Scratch {
  const empty = (): MlpWeights => ({
    hidden,
    w1: new Float32Array(PIXELS * hidden),
    b1: new Float32Array(hidden),
    w2: new Float32Array(hidden * CLASSES),
    b2: new Float32Array(CLASSES),
  });
  return {
    x: new Float32Array(PIXELS),
    ink: new Int32Array(PIXELS),
    h: new Float32Array(hidden),
    p: new Float32Array(CLASSES),
    dh: new Float32Array(hidden),
    grad: empty(),
    velocity: empty(),
  };
}

/** Forward + backward for one sample; adds its gradients to s.grad and returns its loss. */
function accumulate(w: MlpWeights, s: Scratch, label: number): number {
  const H = w.hidden;
  const nInk = inkIndices(s.x, s.ink);
  forward(w, s.x, s.ink, nInk, s.h, s.p);
  const loss = -Math.log(Math.max(s.p[label]!, 1e-12));
  s.p[label]! -= 1; // dLoss/dlogits = p - onehot
  const g = s.grad;
  s.dh.fill(0);
  for (let j = 0; j < H; j++) {
    const hj = s.h[j]!;
    if (hj === 0) continue; // ReLU was off: no gradient flows to or through this unit
    const row = j * CLASSES;
    let dhj = 0;
    for (let c = 0; c < CLASSES; c++) {
      g.w2[row + c]! += hj * s.p[c]!;
      dhj += w.w2[row + c]! * s.p[c]!;
    }
    s.dh[j] = dhj;
  }
  for (let c = 0; c < CLASSES; c++) g.b2[c]! += s.p[c]!;
  for (let j = 0; j < H; j++) g.b1[j]! += s.dh[j]!;
  for (let k = 0; k < nInk; k++) {
    const i = s.ink[k]!;
    const xi = s.x[i]!;
    const row = i * H;
    for (let j = 0; j < H; j++) g.w1[row + j]! += xi * s.dh[j]!;
  }
  return loss;
}

/** v = momentum·v − lr·g; w += v, for every parameter array. */
function update(w: MlpWeights, s: Scratch, lr: number, momentum: number): void {
  for (const key of ['w1', 'b1', 'w2', 'b2'] as const) {
    const p = w[key];
    const g = s.grad[key];
    const v = s.velocity[key];
    for (let i = 0; i < p.length; i++) {
      v[i] = momentum * v[i]! - lr * g[i]!;
      p[i]! += v[i]!;
    }
  }
}

function zero(m: MlpWeights): void {
  m.w1.fill(0);
  m.b1.fill(0);
  m.w2.fill(0);
  m.b2.fill(0);
}
