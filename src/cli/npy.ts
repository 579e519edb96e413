import type { DataType, NumericArray } from '../core/index.js';
import { numericFromBytes } from '../core/index.js';

const DESCR: Record<string, Exclude<DataType, 'BYTES'>> = {
  '|b1': 'BOOL',
  '|u1': 'UINT8',
  '<u2': 'UINT16',
  '<u4': 'UINT32',
  '<u8': 'UINT64',
  '|i1': 'INT8',
  '<i2': 'INT16',
  '<i4': 'INT32',
  '<i8': 'INT64',
  '<f2': 'FP16',
  '<f4': 'FP32',
  '<f8': 'FP64',
};

/** A parsed .npy array. */
export interface NpyArray {
  datatype: Exclude<DataType, 'BYTES'>;
  shape: number[];
  data: NumericArray;
}

/** Parses a NumPy .npy file (format 1.0–3.0, little-endian, C order). Throws a message naming the problem. */
export function parseNpy(buf: Uint8Array): NpyArray {
  const magic = String.fromCharCode(...buf.subarray(0, 6));
  if (magic !== '\x93NUMPY') throw new Error('not a .npy file (bad magic)');
  const major = buf[6]!;
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const headerLen = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const start = major === 1 ? 10 : 12;
  const header = new TextDecoder().decode(buf.subarray(start, start + headerLen));
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (!descr || !fortran || shapeText === undefined) throw new Error('unreadable .npy header');
  if (fortran === 'True') throw new Error('Fortran-ordered .npy arrays are not supported; save with C order');
  const datatype = DESCR[descr === '<u1' ? '|u1' : descr === '<i1' ? '|i1' : descr];
  if (!datatype) throw new Error(`unsupported .npy dtype '${descr}' (big-endian or object arrays are not supported)`);
  const shape = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map(Number);
  const body = buf.subarray(start + headerLen);
  const count = shape.reduce((a, b) => a * b, 1);
  const size = (descr.endsWith('8') ? 8 : descr.endsWith('4') ? 4 : descr.endsWith('2') ? 2 : 1) * count;
  if (body.byteLength < size)
    throw new Error(`.npy data is truncated: expected ${size} bytes, found ${body.byteLength}`);
  return { datatype, shape, data: numericFromBytes(datatype, body.subarray(0, size)) };
}
