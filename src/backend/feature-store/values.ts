/**
 * Feature values as Redis holds them (decimal text, as `HSET user:42 age 31 score 0.87` writes
 * them) read into the output tensor's datatype. Pure; shared by the config (defaults) and the
 * lookup (stored values), so both accept exactly the same texts.
 */
import type { DataType } from '../../core/index.js';

const INTEGER = /^[+-]?\d+$/;
const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/**
 * The value of `text` for an output of `datatype` (FP32, FP64: a finite decimal number; INT32,
 * INT64: a decimal integer in range), or why it is not one (a phrase: "is not a finite number").
 * Surrounding whitespace is ignored.
 */
export function parseFeatureValue(text: string, datatype: DataType): number | bigint | string {
  const t = text.trim();
  switch (datatype) {
    case 'FP32':
    case 'FP64': {
      const v = t === '' ? Number.NaN : Number(t);
      if (!Number.isFinite(v)) return 'is not a finite number';
      if (datatype === 'FP32' && !Number.isFinite(Math.fround(v))) return 'is outside the FP32 range';
      return v;
    }
    case 'INT32': {
      if (!INTEGER.test(t)) return 'is not an integer';
      const v = Number(t);
      return v < INT32_MIN || v > INT32_MAX ? 'is outside the INT32 range' : v;
    }
    case 'INT64': {
      if (!INTEGER.test(t)) return 'is not an integer';
      const v = BigInt(t);
      return v < INT64_MIN || v > INT64_MAX ? 'is outside the INT64 range' : v;
    }
    default:
      return `cannot be read as ${datatype}`;
  }
}
