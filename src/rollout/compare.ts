/**
 * How a shadow's answer is compared with the primary's, pure. Raw model outputs (the scheduler's,
 * before the client's reshape or classification) are compared output by output, by name:
 *  - a classifier (a float output whose last dim is > 1: one score per class) agrees when each
 *    row's top-1 class is the same; its absolute differences are still measured;
 *  - anything else agrees element-wise within |shadow − primary| ≤ 1e-3 · max(1, |primary|);
 *  - BYTES elements agree when their bytes are equal (an element's difference is 0 or 1);
 *  - an output missing from the shadow, or of another datatype or shape, disagrees and cannot be
 *    measured (its call's diff is INCOMPARABLE).
 * Comparison runs on the event loop, so it looks at no more than the first `cap` elements of each
 * output (64 Ki by default, whole rows for classifiers): a few hundred µs at most per call.
 */
import { isBytesData, type Tensor } from '../core/index.js';

/** Elements compared per output and call (the rest of a larger output is not looked at). */
export const COMPARE_CAP = 65_536;
/** Relative tolerance of element-wise comparison (absolute below magnitude 1). */
export const TOLERANCE = 1e-3;
/** The diff of a call whose answers could not be measured against each other (shape, type, missing). */
export const INCOMPARABLE = Number.MAX_VALUE;

export interface OutputDiff {
  name: string;
  /** False when the shadow's output is missing or of another datatype or shape. */
  comparable: boolean;
  disagree: boolean;
  /** Largest and mean absolute difference over the compared elements (0 when not comparable). */
  maxAbs: number;
  meanAbs: number;
}

export interface CallDiff {
  disagree: boolean;
  /** The call's largest absolute difference over its outputs (INCOMPARABLE when one could not be measured). */
  diff: number;
  outputs: OutputDiff[];
}

/** Compares the shadow's outputs with the primary's (the reference). */
export function compareOutputs(primary: readonly Tensor[], shadow: readonly Tensor[], cap = COMPARE_CAP): CallDiff {
  const byName = new Map(shadow.map((t) => [t.name, t]));
  const outputs = primary.map((p) => compareTensor(p, byName.get(p.name), cap));
  let diff = 0;
  for (const o of outputs) diff = Math.max(diff, o.comparable ? o.maxAbs : INCOMPARABLE);
  return { disagree: outputs.some((o) => o.disagree), diff, outputs };
}

const FLOATS = new Set(['FP16', 'FP32', 'FP64', 'BF16']);

/** A float output with more than one value per row: class scores (compared by top-1). */
export function isClassifier(t: Pick<Tensor, 'datatype' | 'shape'>): boolean {
  return FLOATS.has(t.datatype) && (t.shape.at(-1) ?? 0) > 1;
}

function compareTensor(p: Tensor, s: Tensor | undefined, cap: number): OutputDiff {
  const name = p.name;
  if (!s || s.datatype !== p.datatype || s.shape.join(',') !== p.shape.join(',') || length(s) !== length(p))
    return { name, comparable: false, disagree: true, maxAbs: 0, meanAbs: 0 };
  if (isBytesData(p.data) || isBytesData(s.data)) return compareBytes(name, p.data, s.data, cap);
  const a = reader(p);
  const b = reader(s);
  const n = length(p);
  if (!isClassifier(p)) return { name, ...elementwise(a, b, Math.min(n, cap)) };
  const width = p.shape.at(-1) as number;
  const rows = Math.min(n / width, Math.max(1, Math.floor(cap / width)));
  const m = elementwise(a, b, rows * width);
  let disagree = false;
  for (let r = 0; r < rows && !disagree; r++) disagree = argmax(a, r * width, width) !== argmax(b, r * width, width);
  return { name, comparable: true, disagree, maxAbs: m.maxAbs, meanAbs: m.meanAbs };
}

function length(t: Tensor): number {
  return t.data.length;
}

type Reader = (i: number) => number;

function elementwise(primary: Reader, shadow: Reader, n: number) {
  let maxAbs = 0;
  let sumAbs = 0;
  let measured = 0;
  let disagree = false;
  for (let i = 0; i < n; i++) {
    const want = primary(i);
    const got = shadow(i);
    // Equal values (infinities, both NaN) agree; a NaN or infinity against a number cannot be measured.
    if (got === want || (Number.isNaN(got) && Number.isNaN(want))) {
      measured++;
      continue;
    }
    const d = Math.abs(got - want);
    if (!Number.isFinite(d)) {
      disagree = true;
      continue;
    }
    if (d > TOLERANCE * Math.max(1, Math.abs(want))) disagree = true;
    if (d > maxAbs) maxAbs = d;
    sumAbs += d;
    measured++;
  }
  return { comparable: true, disagree, maxAbs, meanAbs: measured === 0 ? 0 : sumAbs / measured };
}

function argmax(r: Reader, from: number, width: number): number {
  let best = -1;
  let value = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < width; i++) {
    const v = r(from + i);
    if (v > value || best === -1) {
      best = i;
      value = Number.isNaN(v) ? Number.NEGATIVE_INFINITY : v;
    }
  }
  return best;
}

function compareBytes(name: string, a: Tensor['data'], b: Tensor['data'], cap: number): OutputDiff {
  if (!isBytesData(a) || !isBytesData(b)) return { name, comparable: false, disagree: true, maxAbs: 0, meanAbs: 0 };
  const n = Math.min(a.length, cap);
  let differing = 0;
  for (let i = 0; i < n; i++) if (!sameBytes(a[i] as Uint8Array, b[i] as Uint8Array)) differing++;
  return {
    name,
    comparable: true,
    disagree: differing > 0,
    maxAbs: differing > 0 ? 1 : 0,
    meanAbs: n ? differing / n : 0,
  };
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Element i of a numeric tensor as a number (FP16/BF16 bit patterns decoded, 64-bit integers rounded). */
function reader(t: Tensor): Reader {
  const d = t.data;
  if (isBytesData(d)) return () => Number.NaN;
  if (t.datatype === 'FP16') return (i) => halfToNumber(d[i] as number);
  if (t.datatype === 'BF16') return (i) => bf16ToNumber(d[i] as number);
  if (d instanceof BigInt64Array || d instanceof BigUint64Array) return (i) => Number(d[i]);
  return (i) => d[i] as number;
}

function halfToNumber(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return sign * f * 2 ** -24;
  if (e === 31) return f ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * (1 + f / 1024) * 2 ** (e - 15);
}

const bf16Scratch = new Float32Array(1);
const bf16Bits = new Uint32Array(bf16Scratch.buffer);

function bf16ToNumber(h: number): number {
  bf16Bits[0] = h << 16;
  return bf16Scratch[0] as number;
}
