/**
 * Tensor data in JSON form (protocol.md §A.4), both directions.
 * In: nested or flat `data` is walked iteratively (no recursion, depth-capped) and each leaf is
 * coerced straight into a typed array of the shape's size: one pass, no intermediate array.
 * INT64/UINT64 leaves hold their full range exactly: an integer JSON.parse rounded (past 2^53)
 * makes the request be decoded again from its digits (json-bigint.ts); the common path is unchanged.
 * Every number must fit its datatype: integers their range, FP32/FP64 their finite range (JSON.parse
 * turns 1e400 into Infinity, which is refused, not stored); non-finite FP values arrive only as
 * Triton's NaN / Infinity literals (json-nonfinite.ts).
 * BYTES strings must be well-formed Unicode (a lone surrogate has no UTF-8 bytes).
 * Out: typed arrays are written flat (as Triton does); FP32 prints as the widened double. NaN,
 * Infinity, -Infinity and -0 are written as Triton's rapidjson writes them (kWriteNanAndInfFlag):
 * the bare literals NaN, Infinity, -Infinity and -0.0. BYTES that are not valid UTF-8 are refused
 * (JSON strings are text), never replaced by U+FFFD.
 */
import { arrayCtor, type DataType, invalidArg, isBytesData, type NumericArray, type Tensor } from '../../core/index.js';
import { ExactInt, NeedsExactIntegers } from './json-bigint.js';
import { NonFinite } from './json-nonfinite.js';

/** Limits for {@link decodeJsonData}. */
export interface JsonDataLimits {
  maxDepth: number;
  /** Elements this tensor may still hold (the request-wide budget left). */
  maxElements: number;
  /** The document was parsed with exact long integers (json-bigint.ts): a rounded one is now an error. */
  exact?: boolean;
}

type Sink = (value: unknown, index: number) => string | undefined;

const INT_RANGES: Partial<Record<DataType, [number, number]>> = {
  UINT8: [0, 0xff],
  UINT16: [0, 0xffff],
  UINT32: [0, 0xffffffff],
  UINT64: [0, Number.MAX_SAFE_INTEGER], // as doubles; exact values up to 2^64 − 1 as ExactInt
  INT8: [-0x80, 0x7f],
  INT16: [-0x8000, 0x7fff],
  INT32: [-0x80000000, 0x7fffffff],
  INT64: [-Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
};

/** The exact ranges of the 64-bit types, for values read from their digits. */
const BIG_RANGES = {
  INT64: [-(2n ** 63n), 2n ** 63n - 1n],
  UINT64: [0n, 2n ** 64n - 1n],
} as const;

/** Converts a JSON `data` value into tensor data of exactly `count` elements; throws IG_ERR_INVALID_ARG. */
export function decodeJsonData(
  name: string,
  datatype: DataType,
  count: number,
  data: unknown,
  limits: JsonDataLimits,
): Tensor['data'] {
  const prefix = `Unable to parse 'data' of input '${name}'`;
  if (datatype === 'FP16' || datatype === 'BF16')
    throw invalidArg(
      `receiving ${datatype} data via JSON is not supported. Please use the binary data format for input '${name}'`,
    );
  if (!Array.isArray(data)) throw invalidArg(`${prefix}: 'data' must be an array`);
  if (count > limits.maxElements)
    throw invalidArg(
      `${prefix}: shape declares ${count} elements, over the limit of ${limits.maxElements} JSON values`,
    );
  const { out, sink } = makeSink(datatype, count, limits.exact === true);
  const found = walkLeaves(data, count, limits.maxDepth, sink, prefix);
  if (found !== count)
    throw invalidArg(
      `${prefix}: Shape does not match true shape of 'data' field: shape holds ${count} elements, 'data' holds ${found}`,
    );
  return out;
}

/** Visits leaves in row-major order without recursion; returns the leaf count. */
function walkLeaves(root: unknown[], count: number, maxDepth: number, sink: Sink, prefix: string): number {
  const arrays: unknown[][] = [root];
  const positions: number[] = [0];
  let k = 0;
  while (arrays.length > 0) {
    const top = arrays.length - 1;
    const arr = arrays[top] as unknown[];
    const i = positions[top] as number;
    if (i >= arr.length) {
      arrays.pop();
      positions.pop();
      continue;
    }
    positions[top] = i + 1;
    const v = arr[i];
    if (Array.isArray(v)) {
      if (arrays.length >= maxDepth) throw invalidArg(`${prefix}: 'data' is nested deeper than ${maxDepth} levels`);
      arrays.push(v);
      positions.push(0);
      continue;
    }
    if (k >= count)
      throw invalidArg(
        `${prefix}: Shape does not match true shape of 'data' field: shape holds ${count} elements, 'data' holds more`,
      );
    const err = sink(v, k);
    if (err !== undefined) throw invalidArg(`${prefix}: element ${k} ${err}`);
    k++;
  }
  return k;
}

/** Allocates the output and returns the per-datatype coercion for one leaf. */
function makeSink(dt: DataType, count: number, exact: boolean): { out: Tensor['data']; sink: Sink } {
  if (dt === 'BYTES') {
    const items: Uint8Array[] = new Array(count);
    const enc = new TextEncoder();
    const sink: Sink = (v, i) => {
      if (typeof v !== 'string') return 'must be a string for BYTES';
      if (!(v as WellFormed).isWellFormed())
        return 'is not well-formed Unicode (an unpaired surrogate has no UTF-8 bytes); send arbitrary bytes as binary data';
      items[i] = enc.encode(v);
      return undefined;
    };
    return { out: items, sink };
  }
  const arr = new (arrayCtor(dt as Exclude<DataType, 'BYTES'>))(count);
  if (dt === 'BOOL') {
    const sink: Sink = (v, i) => {
      if (typeof v !== 'boolean') return 'must be true or false';
      arr[i] = v ? 1 : 0;
      return undefined;
    };
    return { out: arr, sink };
  }
  if (dt === 'FP32' || dt === 'FP64') return { out: arr, sink: floatSink(dt, arr as Float32Array | Float64Array) };
  return { out: arr, sink: intSink(dt, arr, exact) };
}

/** String.prototype.isWellFormed (Node 20; ES2024, past this project's lib). */
type WellFormed = string & { isWellFormed(): boolean };

const FLOAT_MAX = { FP32: 3.4028234663852886e38, FP64: Number.MAX_VALUE } as const;

/**
 * Float coercion: the value as stored must be finite. A JSON number past the double range arrives
 * as ±Infinity (JSON.parse) and one past float32's as a finite double that FP32 stores as ±Infinity;
 * both are refused. Values inside the range round to the nearest float as usual.
 */
function floatSink(dt: 'FP32' | 'FP64', arr: Float32Array | Float64Array): Sink {
  const range = `the finite range of ${dt} (magnitude up to ${FLOAT_MAX[dt]})`;
  return (v, i) => {
    // Triton's NaN / Infinity literals, read by json-nonfinite.ts: the only way to send them in JSON.
    if (v instanceof NonFinite) {
      arr[i] = v.value;
      return undefined;
    }
    if (typeof v !== 'number') return `must be a number for ${dt}`;
    arr[i] = v;
    if (Number.isFinite(arr[i] as number)) return undefined;
    const what = Number.isFinite(v) ? String(v) : `the JSON number overflows to ${v}, it`;
    return `is out of range for ${dt}: ${what} is outside ${range}; send NaN and ±Infinity as the literals NaN, Infinity, -Infinity`;
  };
}

/**
 * Integer coercion with the datatype's range. For INT64/UINT64 a rounded integer (past 2^53) asks
 * for the exact re-read (NeedsExactIntegers), whose ExactInt values are checked against the full range.
 */
function intSink(dt: DataType, arr: NumericArray, exact: boolean): Sink {
  const [min, max] = INT_RANGES[dt] as [number, number];
  if (dt !== 'INT64' && dt !== 'UINT64')
    return (v, i) => {
      if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max)
        return `must be an integer in [${min}, ${max}] for ${dt}`;
      arr[i] = v;
      return undefined;
    };
  const [bigMin, bigMax] = BIG_RANGES[dt];
  const what = `must be an integer in [${bigMin}, ${bigMax}] for ${dt}`;
  return (v, i) => {
    // Numbers first: the common case pays one typeof, as before.
    if (typeof v === 'number') {
      if (!Number.isInteger(v)) return what;
      if (v >= min && v <= max) {
        arr[i] = BigInt(v);
        return undefined;
      }
      // Rounded by JSON.parse, perhaps in range: only its digits can say (once).
      if (!exact) throw new NeedsExactIntegers();
      return what;
    }
    if (!(v instanceof ExactInt) || v.value < bigMin || v.value > bigMax) return what;
    arr[i] = v.value;
    return undefined;
  };
}

/** Exact UTF-8 → string: invalid bytes throw (never U+FFFD) and a leading BOM is kept, not eaten. */
const strictText = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * The JSON text of a tensor's flat `data` array; throws IG_ERR_INVALID_ARG for FP16/BF16 and for
 * BYTES that are not UTF-8, which JSON cannot carry (binary output can).
 */
export function encodeJsonData(t: Tensor): string {
  if (t.datatype === 'FP16' || t.datatype === 'BF16')
    throw invalidArg(
      `sending ${t.datatype} data via JSON is not supported. Please use the binary data format for output '${t.name}'`,
    );
  if (isBytesData(t.data)) return bytesText(t.name, t.data);
  if (t.datatype === 'BOOL') return boolText(t.data);
  // bigint arrays: join prints exact integers, which JSON.stringify refuses to write.
  if (t.data instanceof BigInt64Array || t.data instanceof BigUint64Array) return `[${t.data.join(',')}]`;
  return floatText(t.data as ArrayLike<number>);
}

/**
 * Numbers as JSON. JSON.stringify of a plain array (measured ~2x faster than TypedArray.join) is
 * exact for every finite value but -0, and writes NaN/±Infinity as null: arrays holding those take
 * the element-wise path, which writes them as Triton does (NaN, Infinity, -Infinity, -0.0).
 */
function floatText(data: ArrayLike<number>): string {
  if (!hasSpecial(data)) return JSON.stringify(Array.from(data));
  const parts = new Array<string>(data.length);
  for (let i = 0; i < data.length; i++) parts[i] = numberText(data[i] as number);
  return `[${parts.join(',')}]`;
}

/** True when some element is NaN, ±Infinity or -0 (one pass, far cheaper than the stringify). */
function hasSpecial(data: ArrayLike<number>): boolean {
  for (let i = 0; i < data.length; i++) {
    const v = data[i] as number;
    if (v - v !== 0 || (v === 0 && 1 / v < 0)) return true;
  }
  return false;
}

/** One number as Triton's rapidjson writer prints the non-finite ones and -0. */
function numberText(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Number.POSITIVE_INFINITY) return 'Infinity';
  if (v === Number.NEGATIVE_INFINITY) return '-Infinity';
  if (v === 0 && 1 / v < 0) return '-0.0';
  return String(v);
}

function bytesText(name: string, items: readonly Uint8Array[]): string {
  const text = new Array<string>(items.length);
  for (let i = 0; i < items.length; i++) {
    try {
      text[i] = strictText.decode(items[i]);
    } catch {
      throw invalidArg(
        `output '${name}' element ${i} is not valid UTF-8, which a JSON string cannot carry; ask for it as binary data (output parameter "binary_data": true)`,
      );
    }
  }
  return JSON.stringify(text);
}

function boolText(data: NumericArray): string {
  const values: boolean[] = new Array(data.length);
  for (let i = 0; i < data.length; i++) values[i] = data[i] !== 0;
  return JSON.stringify(values);
}
