/**
 * The KServe v2 tensor datatypes and everything that depends only on the datatype:
 * element byte size, the typed array that holds it, Triton config enum names, ONNX codes.
 */

export const DATATYPES = [
  'BOOL',
  'UINT8',
  'UINT16',
  'UINT32',
  'UINT64',
  'INT8',
  'INT16',
  'INT32',
  'INT64',
  'FP16',
  'FP32',
  'FP64',
  'BYTES',
  'BF16',
] as const;

export type DataType = (typeof DATATYPES)[number];

/** Typed arrays that hold numeric tensor data. BOOL is one byte (0/1); FP16/BF16 are raw uint16 bits. */
export type NumericArray =
  | Uint8Array
  | Uint16Array
  | Uint32Array
  | BigUint64Array
  | Int8Array
  | Int16Array
  | Int32Array
  | BigInt64Array
  | Float32Array
  | Float64Array;

type TypedArrayCtor = {
  new (length: number): NumericArray;
  new (buffer: ArrayBufferLike, byteOffset?: number, length?: number): NumericArray;
  readonly BYTES_PER_ELEMENT: number;
};

const CTORS: Record<Exclude<DataType, 'BYTES'>, TypedArrayCtor> = {
  BOOL: Uint8Array,
  UINT8: Uint8Array,
  UINT16: Uint16Array,
  UINT32: Uint32Array,
  UINT64: BigUint64Array,
  INT8: Int8Array,
  INT16: Int16Array,
  INT32: Int32Array,
  INT64: BigInt64Array,
  FP16: Uint16Array,
  FP32: Float32Array,
  FP64: Float64Array,
  BF16: Uint16Array,
};

/** True when the string is one of the protocol datatype names. */
export function isDataType(s: unknown): s is DataType {
  return typeof s === 'string' && (DATATYPES as readonly string[]).includes(s);
}

/** Bytes per element, or 0 for BYTES (variable length). */
export function elementSize(dt: DataType): number {
  return dt === 'BYTES' ? 0 : CTORS[dt].BYTES_PER_ELEMENT;
}

/** The typed array constructor for a numeric datatype. */
export function arrayCtor(dt: Exclude<DataType, 'BYTES'>): TypedArrayCtor {
  return CTORS[dt];
}

/** True for datatypes whose elements are bigint in JS. */
export function isBigIntType(dt: DataType): boolean {
  return dt === 'INT64' || dt === 'UINT64';
}

/** Triton config enum name (TYPE_FP32, TYPE_STRING…) for a protocol datatype. */
export function toConfigType(dt: DataType): string {
  return dt === 'BYTES' ? 'TYPE_STRING' : `TYPE_${dt}`;
}

/** Protocol datatype for a Triton config enum name, or undefined when unknown/invalid. */
export function fromConfigType(name: string): DataType | undefined {
  if (name === 'TYPE_STRING') return 'BYTES';
  const dt = name.startsWith('TYPE_') ? name.slice(5) : name;
  return isDataType(dt) && dt !== 'BYTES' ? dt : undefined;
}

// ONNX TensorProto.DataType codes.
const ONNX_CODES: Partial<Record<DataType, number>> = {
  FP32: 1,
  UINT8: 2,
  INT8: 3,
  UINT16: 4,
  INT16: 5,
  INT32: 6,
  INT64: 7,
  BYTES: 8,
  BOOL: 9,
  FP16: 10,
  FP64: 11,
  UINT32: 12,
  UINT64: 13,
  BF16: 16,
};

/** ONNX TensorProto elem type code for a datatype. */
export function toOnnxType(dt: DataType): number {
  const c = ONNX_CODES[dt];
  if (c === undefined) throw new Error(`no ONNX type for ${dt}`);
  return c;
}

/** Datatype for an ONNX elem type code, or undefined when the server cannot carry it. */
export function fromOnnxType(code: number): DataType | undefined {
  for (const [dt, c] of Object.entries(ONNX_CODES)) if (c === code) return dt as DataType;
  return undefined;
}

// onnxruntime-common's tensor type strings.
const ORT_NAMES: Record<DataType, string> = {
  BOOL: 'bool',
  UINT8: 'uint8',
  UINT16: 'uint16',
  UINT32: 'uint32',
  UINT64: 'uint64',
  INT8: 'int8',
  INT16: 'int16',
  INT32: 'int32',
  INT64: 'int64',
  FP16: 'float16',
  FP32: 'float32',
  FP64: 'float64',
  BYTES: 'string',
  BF16: 'bfloat16',
};

/** onnxruntime tensor type name for a datatype. */
export function toOrtType(dt: DataType): string {
  return ORT_NAMES[dt];
}

/** Datatype for an onnxruntime tensor type name. */
export function fromOrtType(name: string): DataType | undefined {
  for (const [dt, n] of Object.entries(ORT_NAMES)) if (n === name) return dt as DataType;
  return undefined;
}
