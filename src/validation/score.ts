/**
 * The validation runner's scoring: a model's answer to one row (its values, and its class when it
 * is a classifier), whether two answers agree, and latency percentiles.
 */
import { type DataType, invalidArg, isBytesData, type NumericArray, type Tensor } from '../core/index.js';
import { halfToFloat } from '../optimizer/model/tensor-data.js';
import type { Measurements } from '../registry/gate.js';

/** A model's answer to one row: its first output's values, and its class when it is a classifier. */
export interface Answer {
  values: Float64Array;
  cls?: number;
}

/** The first output as numbers; a class when it holds one score vector or one integer label. */
export function answerOf(t: Tensor, label: string): Answer {
  if (isBytesData(t.data)) throw invalidArg(`${label}'s output '${t.name}' is BYTES: validation compares numbers`);
  const values = toFloat64(t.datatype, t.data);
  const last = t.shape.at(-1) ?? 1;
  const isFloat = t.datatype.startsWith('FP') || t.datatype === 'BF16';
  if (isFloat && last > 1 && values.length === last) return { values, cls: argmax(values) };
  if (!isFloat && values.length === 1) return { values, cls: values[0]! };
  return { values };
}

function toFloat64(dt: DataType, data: NumericArray): Float64Array {
  const out = new Float64Array(data.length);
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    out[i] = dt === 'FP16' ? halfToFloat(Number(v)) : dt === 'BF16' ? bf16ToFloat(Number(v)) : Number(v);
  }
  return out;
}

const bf16View = new DataView(new ArrayBuffer(4));
function bf16ToFloat(bits: number): number {
  bf16View.setUint32(0, bits << 16);
  return bf16View.getFloat32(0);
}

function argmax(a: Float64Array): number {
  let best = 0;
  for (let i = 1; i < a.length; i++) if (a[i]! > a[best]!) best = i;
  return best;
}

/** Same class for classifiers; else every element within 1e-3 relative (absolute below 1). */
export function agrees(a: Answer, b: Answer): boolean {
  if (a.cls !== undefined && b.cls !== undefined) return a.cls === b.cls;
  if (a.values.length !== b.values.length) return false;
  for (let i = 0; i < a.values.length; i++) {
    const x = a.values[i]!;
    const y = b.values[i]!;
    if (!(Math.abs(x - y) <= 1e-3 * Math.max(1, Math.abs(y)))) return false;
  }
  return true;
}

/** Nearest-rank p50/p99 in ms, under `prefix` ('' or 'baseline_'). */
export function latencies(ms: readonly number[], prefix: '' | 'baseline_'): Partial<Measurements> {
  const sorted = [...ms].sort((a, b) => a - b);
  const rank = (p: number) => sorted[Math.max(1, Math.ceil((p / 100) * sorted.length)) - 1]!;
  if (sorted.length === 0) return {};
  return { [`${prefix}latency_p50_ms`]: rank(50), [`${prefix}latency_p99_ms`]: rank(99) };
}
