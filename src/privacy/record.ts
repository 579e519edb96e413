/**
 * One payload-log record as one JSON line. Small tensors are written inline; once a record's
 * inline budget (64 KiB of tensor bytes by default) is spent, a tensor is written as its shape,
 * datatype, size and sha256 only, so a line never grows with the payload and no megabytes are
 * ever stringified. Redacted names keep their shape and datatype, never their values. Headers
 * are never part of a record.
 *
 * A record with a subject starts with `{"subject":"<id>",`: erasure recognises a subject's lines
 * by that prefix alone (subjectPrefix), without parsing them, and no other field can produce it.
 */
import { createHash } from 'node:crypto';
import { isBytesData, type ParamValue, type Tensor, wireByteSize } from '../core/index.js';

export const REDACTED = '[redacted]';

/** What the answered hook hands over; the line is built later, off the request's path. */
export interface PendingRecord {
  /** Epoch ms of the answer. */
  at: number;
  requestId: string;
  model: string;
  version: string;
  subject?: string;
  principal: string;
  parameters: Readonly<Record<string, ParamValue>>;
  /** The tap's copy of the inputs (the originals went to the worker). */
  inputs: readonly Tensor[];
  outputs: readonly Tensor[];
  redact: ReadonlySet<string>;
}

/** The start of every line that records `subject` (and of no other line). */
export function subjectPrefix(subject: string): string {
  return `{"subject":${JSON.stringify(subject)},`;
}

/** Bytes the record holds in memory while it waits in the queue (for the backlog bound). */
export function pendingBytes(r: PendingRecord): number {
  let n = 512;
  for (const t of r.inputs) n += wireByteSize(t);
  for (const t of r.outputs) n += wireByteSize(t);
  return n;
}

/** The record's JSON line, newline included. */
export function recordLine(r: PendingRecord, maxInlineBytes: number): string {
  let budget = maxInlineBytes;
  const tensor = (t: Tensor) => {
    const head = { name: t.name, datatype: t.datatype, shape: t.shape };
    if (r.redact.has(t.name)) return { ...head, data: REDACTED };
    const size = wireByteSize(t);
    if (size > budget) return { ...head, bytes: size, sha256: sha256Of(t) };
    budget -= size;
    return { ...head, ...inline(t) };
  };
  const parameters: Record<string, string | number | boolean> = {};
  for (const [key, v] of Object.entries(r.parameters)) {
    const value = typeof v === 'bigint' ? String(v) : v;
    if (r.redact.has(key)) parameters[key] = REDACTED;
    else if (typeof value !== 'string' || value.length <= budget) {
      if (typeof value === 'string') budget -= value.length;
      parameters[key] = value;
    } else parameters[key] = `[omitted: ${value.length} characters]`;
  }
  const json = JSON.stringify({
    time: new Date(r.at).toISOString(),
    request_id: r.requestId,
    model: r.model,
    version: r.version,
    principal: r.principal,
    parameters,
    inputs: r.inputs.map(tensor),
    outputs: r.outputs.map(tensor),
  });
  return r.subject === undefined ? `${json}\n` : `${subjectPrefix(r.subject)}${json.slice(1)}\n`;
}

/** Values as JSON: numbers (64-bit integers beyond 2^53 as strings), raw bits for FP16/BF16, base64 BYTES. */
function inline(t: Tensor): { data: unknown[]; data_encoding?: string } {
  const d = t.data;
  if (isBytesData(d))
    return {
      data: d.map((e) => Buffer.from(e.buffer, e.byteOffset, e.byteLength).toString('base64')),
      data_encoding: 'base64',
    };
  if (d instanceof BigInt64Array || d instanceof BigUint64Array)
    return { data: Array.from(d, (v) => (v >= -MAX_SAFE && v <= MAX_SAFE ? Number(v) : String(v))) };
  const data = Array.from(d as ArrayLike<number>);
  return t.datatype === 'FP16' || t.datatype === 'BF16' ? { data, data_encoding: 'raw-bits' } : { data };
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** sha256 of the tensor's bytes in the binary wire layout (BYTES: 4-byte length prefix per element). */
function sha256Of(t: Tensor): string {
  const h = createHash('sha256');
  const d = t.data;
  if (isBytesData(d)) {
    const prefix = Buffer.alloc(4);
    for (const e of d) {
      prefix.writeUInt32LE(e.byteLength, 0);
      h.update(prefix).update(e);
    }
  } else h.update(new Uint8Array(d.buffer, d.byteOffset, d.byteLength));
  return h.digest('hex');
}
