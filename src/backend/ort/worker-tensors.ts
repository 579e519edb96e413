/**
 * WireTensor ⇄ onnxruntime Tensor, inside the worker thread only (it imports onnxruntime-node).
 * BYTES: ORT string tensors hold JS strings, so elements are UTF-8 decoded/encoded here.
 * onnxruntime-node hands each string to ORT as a C string (it ends at the first NUL) and JS strings
 * are text (invalid UTF-8 would become U+FFFD), so an element with a NUL byte or invalid UTF-8 is
 * refused with IG_ERR_INVALID_ARG rather than changed: two native scans of the packed bytes. The
 * router refuses such an element per request before batching (router/text-bytes.ts, through
 * Backend.bytesAsText), so a client sees it for its own call only; this is the guard at the native
 * boundary for callers that come without the router (warm-up, direct instance use).
 * FP16 stays Uint16Array raw bits, BOOL Uint8Array 0/1, INT64/UINT64 bigint arrays.
 */
import { isUtf8 } from 'node:buffer';
import * as ort from 'onnxruntime-node';
import { arrayCtor, type DataType, fromOrtType, invalidArg, type NumericArray, toOrtType } from '../../core/index.js';
import type { PackedBytes, WireRows, WireTensor } from './messages.js';
import { isPacked, transferable } from './wire.js';

/** Checked bytes → string; a leading BOM is kept (the default decoder would drop it). */
const decoder = new TextDecoder('utf-8', { ignoreBOM: true });
const encoder = new TextEncoder();

/**
 * Throws IG_ERR_INVALID_ARG naming input `name` and the element when packed BYTES cannot reach
 * onnxruntime unchanged. `where` qualifies the element for a batch joined from several requests.
 */
export function checkOrtStrings(name: string, p: PackedBytes, where = ''): void {
  const { bytes, offsets } = p;
  const nul = bytes.indexOf(0);
  if (nul !== -1)
    throw invalidArg(
      `input '${name}' element ${elementAt(offsets, nul)}${where} contains a NUL byte, which onnxruntime string tensors cannot carry (they end each string at its first NUL)`,
    );
  const bad = invalidUtf8Element(p);
  if (bad !== -1)
    throw invalidArg(
      `input '${name}' element ${bad}${where} is not valid UTF-8, which onnxruntime string tensors cannot carry unchanged (they hold text)`,
    );
}

/** The element holding byte `pos` (the first whose end is past it). */
function elementAt(offsets: Uint32Array, pos: number): number {
  let lo = 0;
  let hi = offsets.length - 2;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((offsets[mid + 1] as number) > pos) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/**
 * The first element that is not valid UTF-8, or -1. Fast path: the whole buffer is valid and every
 * non-empty element starts on a character (not a continuation byte), so each element is too.
 */
function invalidUtf8Element({ bytes, offsets }: PackedBytes): number {
  const n = offsets.length - 1;
  if (isUtf8(bytes)) {
    let aligned = true;
    for (let i = 1; i < n && aligned; i++) {
      const at = offsets[i] as number;
      if (at < (offsets[i + 1] as number) && ((bytes[at] as number) & 0xc0) === 0x80) aligned = false;
    }
    if (aligned) return -1;
  }
  for (let i = 0; i < n; i++) if (!isUtf8(bytes.subarray(offsets[i], offsets[i + 1]))) return i;
  return -1;
}

/** Decodes packed BYTES elements to strings, after {@link checkOrtStrings} (nothing is replaced). */
export function packedToStrings(name: string, p: PackedBytes): string[] {
  checkOrtStrings(name, p);
  const n = p.offsets.length - 1;
  const out = new Array<string>(n);
  for (let i = 0; i < n; i++) out[i] = decoder.decode(p.bytes.subarray(p.offsets[i], p.offsets[i + 1]));
  return out;
}

/** Encodes strings as packed UTF-8 BYTES elements. */
export function stringsToPacked(items: readonly string[]): PackedBytes {
  const parts = items.map((s) => encoder.encode(s));
  const offsets = new Uint32Array(parts.length + 1);
  let size = 0;
  for (let i = 0; i < parts.length; i++) {
    size += parts[i]!.byteLength;
    offsets[i + 1] = size;
  }
  const bytes = new Uint8Array(size);
  for (let i = 0; i < parts.length; i++) bytes.set(parts[i]!, offsets[i]);
  return { bytes, offsets };
}

/** Joins a batch sent as rows into one wire tensor (the batch's one copy, made in the worker). */
export function joinRows(w: WireRows): WireTensor {
  const { name, datatype, shape } = w;
  const first = w.rows[0];
  if (w.rows.length === 1 && first !== undefined) return { name, datatype, shape, data: first };
  if (datatype === 'BYTES') {
    // Checked per request first, so an error names the element in that request's own tensor.
    const rows = w.rows as PackedBytes[];
    const where = ` of one of the ${rows.length} requests batched together`;
    for (const p of rows) checkOrtStrings(name, p, where);
    return { name, datatype, shape, data: joinPacked(rows) };
  }
  const parts = w.rows as NumericArray[];
  const out = new (arrayCtor(datatype))(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    // Same constructor for every part (same datatype), so set() is a plain memcpy.
    (out as Uint8Array).set(p as Uint8Array, off);
    off += p.length;
  }
  return { name, datatype, shape, data: out };
}

function joinPacked(parts: readonly PackedBytes[]): PackedBytes {
  const count = parts.reduce((n, p) => n + p.offsets.length - 1, 0);
  const bytes = new Uint8Array(parts.reduce((n, p) => n + p.bytes.byteLength, 0));
  const offsets = new Uint32Array(count + 1);
  let e = 0;
  let at = 0;
  for (const p of parts) {
    bytes.set(p.bytes, at);
    for (let i = 1; i < p.offsets.length; i++) offsets[++e] = at + p.offsets[i]!;
    at += p.bytes.byteLength;
  }
  return { bytes, offsets };
}

/** Builds the ORT tensor for a wire tensor (numeric data is used in place). */
export function wireToOrt(w: WireTensor): ort.Tensor {
  const type = toOrtType(w.datatype) as ort.Tensor.Type;
  if (isPacked(w.data)) return new ort.Tensor('string', packedToStrings(w.name, w.data), w.shape);
  return new ort.Tensor(type as 'float32', w.data as Float32Array, w.shape);
}

/** Converts an ORT output to a wire tensor whose buffers can be transferred. */
export function ortToWire(name: string, t: ort.Tensor): WireTensor {
  const datatype: DataType | undefined = fromOrtType(t.type);
  if (datatype === undefined) throw new Error(`output '${name}' has unsupported type ${t.type}`);
  const shape = t.dims.map(Number);
  if (datatype === 'BYTES') return { name, datatype, shape, data: stringsToPacked(t.data as string[]) };
  return { name, datatype, shape, data: transferable(t.data as NumericArray) };
}
