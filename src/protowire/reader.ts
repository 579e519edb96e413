/**
 * A minimal protobuf wire-format walker: visits the fields of one message without decoding or
 * allocating, so a guard can count repeated entries before a full decode would create an object
 * for each. Throws on truncated or malformed input (the caller treats that as a malformed message).
 */
import { I64, LEN, VARINT } from './writer.js';

const I32 = 5;

/** Called per field: its number, wire type and, for LEN fields, the value's byte range. */
export type FieldVisitor = (field: number, wireType: number, start: number, end: number) => void;

/** Reads a varint at `at`; returns [value, next offset]. Values past 2^53 lose precision (sizes never are). */
function varint(buf: Uint8Array, at: number, end: number): [number, number] {
  let value = 0;
  let scale = 1;
  for (let i = at; i < end && i < at + 10; i++) {
    const b = buf[i]!;
    value += (b & 0x7f) * scale;
    if (b < 0x80) return [value, i + 1];
    scale *= 128;
  }
  throw new Error('malformed varint');
}

/** Visits every field of the message in buf[start, end). */
export function visitFields(buf: Uint8Array, start: number, end: number, visit: FieldVisitor): void {
  let at = start;
  while (at < end) {
    const [tag, next] = varint(buf, at, end);
    const field = Math.floor(tag / 8);
    const wireType = tag % 8;
    at = next;
    if (wireType === VARINT) {
      const [, after] = varint(buf, at, end);
      visit(field, wireType, at, after);
      at = after;
    } else if (wireType === LEN) {
      const [len, body] = varint(buf, at, end);
      if (body + len > end) throw new Error('truncated field');
      visit(field, wireType, body, body + len);
      at = body + len;
    } else if (wireType === I64 || wireType === I32) {
      const size = wireType === I64 ? 8 : 4;
      if (at + size > end) throw new Error('truncated field');
      visit(field, wireType, at, at + size);
      at += size;
    } else throw new Error(`unsupported wire type ${wireType}`);
  }
}
