/**
 * gRPC-specific parts of decoding one ModelInferRequest input: int64 shapes and the typed
 * `contents` fields (raw contents go through protocol/common's tensorFromWire, shared with HTTP).
 * Data always ends up in buffers allocated here (aligned, owned), because the tensor is later
 * transferred to a worker thread and the received message buffer must not go with it.
 */
import { type DataType, invalidArg, numericFromBytes, type Tensor } from '../../core/index.js';
import type { InferTensorContents, ModelInferRequest_InferInputTensor } from '../../gen/grpc_service_pb.js';
import { checkRank } from '../common/tensor-wire.js';

type ContentsField = Exclude<keyof InferTensorContents, '$typeName' | '$unknown'>;

const WIRE_NAME: Record<ContentsField, string> = {
  boolContents: 'bool_contents',
  intContents: 'int_contents',
  int64Contents: 'int64_contents',
  uintContents: 'uint_contents',
  uint64Contents: 'uint64_contents',
  fp32Contents: 'fp32_contents',
  fp64Contents: 'fp64_contents',
  bytesContents: 'bytes_contents',
};

/** Where a tensor is, for error messages. */
interface Where {
  input: string;
  model: string;
}

function at(w: Where): string {
  return `input '${w.input}' for model '${w.model}'`;
}

const MAX_DIM = BigInt(Number.MAX_SAFE_INTEGER);

/** Validates dims (integers ≥ 0) and returns them as numbers with their product. */
export function decodeShape(dims: readonly bigint[], w: Where): { shape: number[]; count: number } {
  checkRank(dims.length, w.input);
  const shape = new Array<number>(dims.length);
  let count = 1;
  let zero = false;
  for (let i = 0; i < dims.length; i++) {
    const d = dims[i] as bigint;
    if (d < 0n) throw invalidArg(`${at(w)} has a negative dimension ${d} in its shape`);
    if (d > MAX_DIM) throw invalidArg(`${at(w)} has dimension ${d} that is too large`);
    shape[i] = Number(d);
    if (d === 0n) zero = true;
    else count *= shape[i] as number;
  }
  if (zero) return { shape, count: 0 };
  if (count > Number.MAX_SAFE_INTEGER) throw invalidArg(`${at(w)} has a shape with too many elements`);
  return { shape, count };
}

type NarrowArray = Int8Array | Int16Array | Uint8Array | Uint16Array;

// Range-checked narrowing from the int32/uint32 wire fields (INT8/16, UINT8/16).
function narrowInts(
  Ctor: { from(values: ArrayLike<number>): NarrowArray },
  values: number[],
  [min, max]: [number, number],
  dt: DataType,
  w: Where,
): NarrowArray {
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as number;
    if (v < min || v > max) throw invalidArg(`${at(w)}: value ${v} at index ${i} is out of range for ${dt}`);
  }
  return Ctor.from(values);
}

// BYTES elements copied into one owned buffer (the decoded message's memory is not ours to keep).
function ownedBytes(items: Uint8Array[]): Uint8Array[] {
  let total = 0;
  for (const e of items) total += e.byteLength;
  const buf = new Uint8Array(total);
  const out = new Array<Uint8Array>(items.length);
  let off = 0;
  for (let i = 0; i < items.length; i++) {
    const e = items[i] as Uint8Array;
    buf.set(e, off);
    out[i] = buf.subarray(off, off + e.byteLength);
    off += e.byteLength;
  }
  return out;
}

type Source = { field: ContentsField; make: (c: InferTensorContents, w: Where) => Tensor['data'] };

const SOURCES: Record<Exclude<DataType, 'FP16' | 'BF16'>, Source> = {
  BOOL: { field: 'boolContents', make: (c) => Uint8Array.from(c.boolContents, (b) => (b ? 1 : 0)) },
  INT8: { field: 'intContents', make: (c, w) => narrowInts(Int8Array, c.intContents, [-128, 127], 'INT8', w) },
  INT16: { field: 'intContents', make: (c, w) => narrowInts(Int16Array, c.intContents, [-32768, 32767], 'INT16', w) },
  INT32: { field: 'intContents', make: (c) => Int32Array.from(c.intContents) },
  INT64: { field: 'int64Contents', make: (c) => BigInt64Array.from(c.int64Contents) },
  UINT8: { field: 'uintContents', make: (c, w) => narrowInts(Uint8Array, c.uintContents, [0, 255], 'UINT8', w) },
  UINT16: { field: 'uintContents', make: (c, w) => narrowInts(Uint16Array, c.uintContents, [0, 65535], 'UINT16', w) },
  UINT32: { field: 'uintContents', make: (c) => Uint32Array.from(c.uintContents) },
  UINT64: { field: 'uint64Contents', make: (c) => BigUint64Array.from(c.uint64Contents) },
  FP32: { field: 'fp32Contents', make: (c) => Float32Array.from(c.fp32Contents) },
  FP64: { field: 'fp64Contents', make: (c) => Float64Array.from(c.fp64Contents) },
  BYTES: { field: 'bytesContents', make: (c) => ownedBytes(c.bytesContents) },
};

/** Tensor data from the typed `contents` field (absent contents = no elements). */
export function dataFromContents(
  dt: DataType,
  count: number,
  input: ModelInferRequest_InferInputTensor,
  w: Where,
): Tensor['data'] {
  if (dt === 'FP16' || dt === 'BF16')
    throw invalidArg(`${at(w)}: ${dt} data must be sent in raw_input_contents (no typed contents field exists)`);
  const src = SOURCES[dt];
  const c = input.contents;
  if (c === undefined) {
    if (count === 0) return dt === 'BYTES' ? [] : numericFromBytes(dt, new Uint8Array(0));
    throw invalidArg(`${at(w)} has no data: set its contents or raw_input_contents`);
  }
  for (const f of Object.keys(WIRE_NAME) as ContentsField[])
    if (f !== src.field && c[f].length > 0)
      throw invalidArg(`${at(w)} has datatype ${dt}, which uses ${WIRE_NAME[src.field]}, but ${WIRE_NAME[f]} is set`);
  const n = c[src.field].length;
  if (n !== count)
    throw invalidArg(`${at(w)}: ${WIRE_NAME[src.field]} holds ${n} elements but the shape declares ${count}`);
  return src.make(c, w);
}
