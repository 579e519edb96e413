/**
 * The binary tensor extension's framing (protocol.md §B.1): a JSON header of
 * Inference-Header-Content-Length bytes, then the binary chunks in input order.
 */
import { invalidArg, type NumericArray } from '../../core/index.js';

/** Header that splits the JSON header from the binary chunks. */
export const HEADER_LENGTH = 'inference-header-content-length';

/**
 * Parses Inference-Header-Content-Length: undefined when absent (whole body is JSON), else an
 * integer in [0, bodyLength]. Triton parses it as an int32, so larger values are refused too.
 */
export function parseHeaderLength(value: string | string[] | undefined, bodyLength: number): number | undefined {
  if (value === undefined) return undefined;
  const text = Array.isArray(value) ? value[0] : value;
  if (text === undefined || !/^\s*\d{1,10}\s*$/.test(text))
    throw invalidArg(
      `Inference-Header-Content-Length must be a non-negative integer, got '${String(text).slice(0, 20)}'`,
    );
  const n = Number(text);
  if (n > 0x7fffffff || n > bodyLength)
    throw invalidArg(`Inference-Header-Content-Length ${n} is larger than the request body (${bodyLength} bytes)`);
  return n;
}

/** Hands out the binary chunks of a body's binary section in order, checking each fits. */
export class BinaryCursor {
  private offset = 0;

  constructor(private readonly body: Uint8Array) {}

  /** The next `size` bytes for `input` (a view, no copy); throws when the body is too short. */
  take(input: string, size: number, model: string): Uint8Array {
    const remaining = this.body.byteLength - this.offset;
    if (size > remaining)
      throw invalidArg(
        `unexpected size for input '${input}', expecting ${size} additional bytes but only ${remaining} ` +
          `remain in the request body for model '${model}'`,
      );
    const chunk = this.body.subarray(this.offset, this.offset + size);
    this.offset += size;
    return chunk;
  }

  /** Throws when bytes are left over after every binary input took its chunk. */
  finish(model: string): void {
    if (this.offset !== this.body.byteLength)
      throw invalidArg(
        `unexpected additional input data for model '${model}': ${this.body.byteLength - this.offset} bytes ` +
          `follow the last binary input`,
      );
  }
}

/** Writes BYTES elements in the length-prefixed wire layout into `out` at `offset`; returns the end. */
export function writeBytesElements(out: Uint8Array, offset: number, items: readonly Uint8Array[]): number {
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  let off = offset;
  for (const e of items) {
    view.setUint32(off, e.byteLength, true);
    out.set(e, off + 4);
    off += 4 + e.byteLength;
  }
  return off;
}

/** Copies a numeric array's little-endian bytes into `out` at `offset`; returns the end. */
export function writeNumeric(out: Uint8Array, offset: number, data: NumericArray): number {
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), offset);
  return offset + data.byteLength;
}
