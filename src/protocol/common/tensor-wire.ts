/**
 * Checks and conversions for tensors that arrive as raw little-endian bytes, shared by the HTTP
 * binary extension and gRPC raw_input_contents: same validation, same messages.
 */
import {
  arrayCtor,
  type DataType,
  decodeBytesElements,
  elementCount,
  elementSize,
  invalidArg,
  isDataType,
  numericFromBytes,
  ownsBuffer,
  type Tensor,
} from '../../core/index.js';

/** Validates a datatype string; the message names the tensor. */
export function parseDatatype(value: unknown, tensor: string): DataType {
  if (!isDataType(value))
    throw invalidArg(`invalid datatype ${JSON.stringify(String(value)).slice(0, 40)} for tensor '${tensor}'`);
  return value;
}

/**
 * The most dimensions a tensor may have. onnxruntime allows more, but no model needs them, and
 * a bound keeps every message that echoes a shape small (a 1e6-dimension shape made a 2 MB error).
 */
export const MAX_RANK = 32;

/** Refuses a rank over MAX_RANK; the message names the tensor. */
export function checkRank(rank: number, tensor: string): void {
  if (rank > MAX_RANK)
    throw invalidArg(`shape of tensor '${tensor}' has ${rank} dimensions; at most ${MAX_RANK} are supported`);
}

/**
 * Default bound on the BYTES elements one request may carry. Each element costs a JavaScript
 * object on the event loop (and a string in onnxruntime): 2M empty elements in a 7.6 MB request
 * stalled the loop for 1.45 s; 64 Ki of them cost tens of milliseconds.
 */
export const DEFAULT_MAX_BYTES_ELEMENTS = 65_536;

/** Refuses a BYTES tensor with more elements than `max`, before any element is decoded. */
export function checkBytesCount(tensor: string, count: number, max: number): void {
  if (count > max)
    throw invalidArg(
      `input '${tensor}' has ${count} BYTES elements; at most ${max} are accepted per request (--max-bytes-elements)`,
    );
}

/** Validates a shape: an array of non-negative safe integers, at most MAX_RANK of them. */
export function parseShape(value: unknown, tensor: string): number[] {
  if (!Array.isArray(value)) throw invalidArg(`shape of tensor '${tensor}' must be an array of integers`);
  checkRank(value.length, tensor);
  for (const d of value) {
    if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0)
      throw invalidArg(`shape of tensor '${tensor}' must contain only non-negative integers`);
  }
  return value as number[];
}

/**
 * Builds a tensor from its wire bytes in memory the tensor owns (so the buffer can be transferred
 * to a worker): bytes that are a whole ArrayBuffer of their own (a binary section read apart,
 * http/body-split.ts) are used in place, anything else is copied once. Fixed-size types must
 * match shape × element size; BYTES must hold exactly the shape's element count with every length
 * prefix inside the buffer.
 */
export function tensorFromWire(name: string, datatype: DataType, shape: number[], bytes: Uint8Array): Tensor {
  const count = elementCount(shape);
  if (datatype === 'BYTES') {
    // One owned copy; the elements are views into it, so a transfer moves them all at once.
    const owned = new Uint8Array(bytes.byteLength);
    owned.set(bytes);
    const items = decodeBytesElements(owned, count);
    if (typeof items === 'string') throw invalidArg(`input '${name}' BYTES data is malformed: ${items}`);
    return { name, datatype, shape, data: items };
  }
  const expected = count * elementSize(datatype);
  if (bytes.byteLength !== expected)
    throw invalidArg(
      `unexpected total byte size ${bytes.byteLength} for input '${name}', expecting ${expected} ` +
        `(shape [${shape.join(',')}] of ${datatype})`,
    );
  const data = ownsBuffer(bytes)
    ? new (arrayCtor(datatype))(bytes.buffer, 0, count)
    : numericFromBytes(datatype, bytes);
  return { name, datatype, shape, data };
}
