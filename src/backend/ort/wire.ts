/**
 * Tensor ⇄ WireTensor on the event-loop side: no per-element work beyond one memcpy, so the
 * event loop stays free (UTF-8 conversion of BYTES happens in the worker, see worker-tensors.ts).
 */
import {
  elementCount,
  invalidArg,
  isBytesData,
  joinedShape,
  type NumericArray,
  ownsBuffer,
  type Tensor,
} from '../../core/index.js';
import type { PackedBytes, WireRows, WireTensor } from './messages.js';

/**
 * The array itself when it owns its buffer, else one copy that does (slice allocates a fresh buffer).
 * Empty arrays are always fresh: a detached buffer in a transfer list makes the message undeliverable.
 */
export function transferable<T extends NumericArray>(a: T): T {
  if (a.byteLength === 0) return a.slice() as T;
  return ownsBuffer(a) ? a : (a.slice() as T);
}

/** Packs BYTES elements into one buffer plus offsets (one copy; the elements may share pooled buffers). */
export function packBytes(items: readonly Uint8Array[]): PackedBytes {
  const offsets = new Uint32Array(items.length + 1);
  let size = 0;
  for (let i = 0; i < items.length; i++) {
    size += items[i]!.byteLength;
    offsets[i + 1] = size;
  }
  const bytes = new Uint8Array(size);
  for (let i = 0; i < items.length; i++) bytes.set(items[i]!, offsets[i]);
  return { bytes, offsets };
}

/** Views packed BYTES as one Uint8Array per element (no copy). */
export function unpackBytes(p: PackedBytes): Uint8Array[] {
  const n = p.offsets.length - 1;
  const out = new Array<Uint8Array>(n);
  for (let i = 0; i < n; i++) out[i] = p.bytes.subarray(p.offsets[i], p.offsets[i + 1]);
  return out;
}

/** True when wire data is packed BYTES. */
export function isPacked(d: WireTensor['data']): d is PackedBytes {
  return !ArrayBuffer.isView(d);
}

/** Buffers to put in a transfer list for these wire tensors (deduplicated). */
export function transferList(tensors: ReadonlyArray<WireTensor | WireRows>): ArrayBuffer[] {
  const set = new Set<ArrayBuffer>();
  for (const t of tensors) {
    for (const d of 'rows' in t ? t.rows : [t.data]) {
      if (isPacked(d)) {
        set.add(d.bytes.buffer as ArrayBuffer);
        set.add(d.offsets.buffer as ArrayBuffer);
      } else set.add(d.buffer as ArrayBuffer);
    }
  }
  return [...set];
}

/**
 * One batch input as the requests' own rows (see WireRows): each part is prepared like a single
 * tensor (owned buffers move, nothing is joined here). Throws when the parts disagree on datatype
 * or non-batch dims (the scheduler's shape key keeps that from happening).
 */
export function rowsToWire(parts: readonly Tensor[]): WireRows {
  const shape = joinedShape(parts);
  const head = parts[0]!;
  return { name: head.name, datatype: head.datatype, shape, rows: parts.map((p) => tensorToWire(p).data) };
}

/**
 * Converts a caller's tensor for posting; numeric buffers are transferred, not copied, when possible.
 * Throws IG_ERR_INVALID_ARG when the data does not match the shape (e.g. a buffer already transferred).
 */
export function tensorToWire(t: Tensor): WireTensor {
  const n = elementCount(t.shape);
  if (t.data.length !== n)
    throw invalidArg(
      `input '${t.name}' holds ${t.data.length} elements but its shape [${t.shape.join(',')}] needs ${n}`,
    );
  const data = isBytesData(t.data) ? packBytes(t.data) : transferable(t.data);
  return { name: t.name, datatype: t.datatype, shape: t.shape, data };
}

/** Converts a received wire tensor into the caller-facing Tensor (views, no copy). */
export function wireToTensor(w: WireTensor): Tensor {
  const data = isPacked(w.data) ? unpackBytes(w.data) : w.data;
  return { name: w.name, datatype: w.datatype, shape: w.shape, data };
}
