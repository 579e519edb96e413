/**
 * The validation runner's data side: reads the rows (and labels) with the optimizer's readers,
 * refusing unreadable or inconsistent files by name, and converts a row to an input's datatype.
 */
import { stat } from 'node:fs/promises';
import { extname } from 'node:path';
import {
  arrayCtor,
  type DataType,
  type InferError,
  invalidArg,
  isBigIntType,
  type NumericArray,
  type TensorSpec,
} from '../core/index.js';
import { jsonlSet, npzSet } from '../optimizer/data/load.js';
import { readNpyFloat64 } from '../optimizer/data/npy.js';

/** The data file's rows (values in C order, whatever the file's dtype) and labels. */
export interface DataRows {
  rowShape: number[];
  rows: ArrayLike<number>[];
  labels?: number[];
}

/** Input datatypes a float64 row can be converted to exactly or by rounding to float. */
const FLOAT_INPUTS: ReadonlySet<DataType> = new Set(['FP32', 'FP64']);

/**
 * Reads the rows (and labels) with the optimizer's readers; any failure names the file. An .npz
 * picks its array by the `target` input's name, .jsonl rows take its dims.
 */
export async function readData(input: { data: string; labels?: string }, target?: TensorSpec): Promise<DataRows> {
  const path = input.data;
  const ext = extname(path).toLowerCase();
  let data: DataRows;
  try {
    if (ext === '.npy') {
      const x = readNpyFloat64(path);
      if (x.shape.length === 0) throw new Error('holds a scalar, not rows');
      const rowShape = x.shape.slice(1);
      const len = rowShape.reduce((a, b) => a * b, 1);
      const rows = Array.from({ length: x.shape[0]! }, (_, i) => x.data.subarray(i * len, (i + 1) * len));
      data = { rowShape, rows };
    } else if (ext === '.npz' && target) data = await npzSet(target.name, path);
    else if ((ext === '.jsonl' || ext === '.ndjson' || ext === '.json') && target) {
      if (target.dims.some((d) => d < 0))
        throw new Error(`input '${target.name}' has dynamic dims [${target.dims}]: use .npy or .npz data`);
      data = jsonlSet(target.name, path, target.dims);
    } else throw new Error('is not .npy, .npz or .jsonl');
  } catch (err) {
    throw unreadable(path, 'validation data', err);
  }
  if (input.labels !== undefined) {
    try {
      data.labels = Array.from(readNpyFloat64(input.labels).data);
    } catch (err) {
      throw unreadable(input.labels, 'labels', err);
    }
  }
  if (data.labels) checkLabels(data.labels, data.rows.length, input.labels ?? path);
  if (data.rows.length === 0) throw invalidArg(`validation data '${path}' has no rows`);
  return data;
}

function checkLabels(labels: readonly number[], rows: number, path: string): void {
  if (labels.length !== rows)
    throw invalidArg(`labels '${path}' hold ${labels.length} labels for ${rows} validation rows`);
  const bad = labels.findIndex((l) => !Number.isInteger(l));
  if (bad >= 0) throw invalidArg(`labels '${path}': label ${bad} is ${labels[bad]}, not an integer class index`);
}

/** A reader's failure as IG_ERR_INVALID_ARG naming the file and the reason, never a stack. */
function unreadable(path: string, what: string, err: unknown): InferError {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  const message = err instanceof Error ? err.message : String(err);
  let reason = code === 'ENOENT' ? 'does not exist' : code === 'EISDIR' ? 'is a directory' : message;
  if (reason.startsWith(`${path}: `)) reason = reason.slice(path.length + 2);
  return invalidArg(`cannot read ${what} '${path}': ${reason}`, err);
}

/** Refuses a path that is missing or not a regular file, naming it as `what`. */
export async function mustExist(path: string, what: string): Promise<void> {
  const st = await stat(path).catch((err: unknown) => {
    throw unreadable(path, what, err);
  });
  if (!st.isFile()) throw invalidArg(`cannot read ${what} '${path}': not a file`);
}

/** A float64 row as the input's datatype; integer inputs refuse fractions and out-of-range values. */
export function convertRow(row: ArrayLike<number>, dt: DataType, where: () => string): NumericArray {
  const Ctor = arrayCtor(dt as Exclude<DataType, 'BYTES'>);
  const out = new Ctor(row.length);
  if (FLOAT_INPUTS.has(dt)) {
    (out as Float32Array | Float64Array).set(row);
    return out;
  }
  for (let k = 0; k < row.length; k++) {
    const v = row[k]!;
    const ok = Number.isInteger(v) && (dt !== 'BOOL' || v === 0 || v === 1) && (dt !== 'UINT64' || v >= 0);
    if (ok && isBigIntType(dt)) (out as BigInt64Array)[k] = BigInt(v);
    else if (ok) (out as Int32Array)[k] = v;
    // The typed array wraps silently: reading the element back catches what did not fit.
    if (!ok || out[k] !== (isBigIntType(dt) ? BigInt(v) : v))
      throw invalidArg(`${where()}: value ${v} at element ${k} does not fit ${dt}`);
  }
  return out;
}
