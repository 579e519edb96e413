/**
 * The protobuf wire-format writer behind the hand-written hot-path encoders (gRPC server responses
 * and client requests): sizes are computed first, then one exactly sized buffer is filled.
 * Field numbers here are all ≤ 15, so every tag fits one byte.
 */

export const VARINT = 0;
export const I64 = 1;
export const LEN = 2;

/** Bytes a non-negative integer takes as a varint. */
export function varintSize(n: number): number {
  let size = 1;
  while (n >= 128) {
    n = Math.floor(n / 128);
    size++;
  }
  return size;
}

/** Bytes an int64/uint64 takes as a varint (negatives are 64-bit two's complement: 10 bytes). */
export function bigVarintSize(v: bigint): number {
  let u = BigInt.asUintN(64, v);
  let size = 1;
  while (u >= 128n) {
    u >>= 7n;
    size++;
  }
  return size;
}

/** Size of a length-delimited field (one tag byte) holding `len` bytes. */
export function lenField(len: number): number {
  return 1 + varintSize(len) + len;
}

/** A cursor over one exactly sized output buffer. */
export class WireWriter {
  readonly buf: Buffer;
  pos = 0;

  constructor(size: number) {
    this.buf = Buffer.allocUnsafe(size);
  }

  /** A non-negative integer as a varint. */
  varint(n: number): void {
    while (n >= 128) {
      this.buf[this.pos++] = (n % 128) | 128;
      n = Math.floor(n / 128);
    }
    this.buf[this.pos++] = n;
  }

  /** An int64/uint64 as a varint. */
  bigVarint(v: bigint): void {
    let u = BigInt.asUintN(64, v);
    while (u >= 128n) {
      this.buf[this.pos++] = Number(u & 127n) | 128;
      u >>= 7n;
    }
    this.buf[this.pos++] = Number(u);
  }

  /** A field tag. */
  tag(field: number, wire: number): void {
    this.varint(field * 8 + wire);
  }

  /** Tag and length of a length-delimited field whose body follows. */
  len(field: number, len: number): void {
    this.tag(field, LEN);
    this.varint(len);
  }

  /** A bytes field. */
  bytes(field: number, b: Uint8Array): void {
    this.len(field, b.byteLength);
    this.buf.set(b, this.pos);
    this.pos += b.byteLength;
  }

  /** A string field; `len` is its UTF-8 length, already computed by the sizing pass. */
  string(field: number, s: string, len: number): void {
    this.len(field, len);
    this.pos += this.buf.write(s, this.pos, len, 'utf8');
  }
}
