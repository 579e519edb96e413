/**
 * An InferResponse as cache bytes and back. The bytes may come back from a shared Redis that
 * anything could have written to (reliability.md R10: Redis values are not trusted), so decoding
 * checks everything and answers `undefined` for garbage instead of throwing:
 *
 *   0   'IGR' + format version (1)
 *   4   u32 total length (must equal the buffer's)
 *   8   u32 CRC-32 of every byte from offset 12 on
 *   12  f64 expiry, epoch ms (cache.ts treats an entry read after it as a miss, whatever the tier's TTL did)
 *   20  str key (must equal the key it was read under: a value moved or swapped between keys is garbage)
 *       str model, str version
 *       u32 parameter count, then per parameter: str name, u8 type, value
 *       u32 output count, then per output: str name, str datatype, u32 rank, f64 dims…,
 *         numeric: u32 byte length (= elements × element size), the little-endian bytes
 *         BYTES:   u32 element count (= elements), per element u32 length + bytes
 *   str = u32 UTF-8 byte length + bytes. Little-endian throughout, as tensors are on the wire.
 *
 * The response id is never stored (each call echoes its own). Decoded tensors own fresh, aligned
 * buffers, so an encoder may transfer them and no two calls share one.
 */
import { crc32 } from 'node:zlib';
import {
  arrayCtor,
  type DataType,
  elementCount,
  elementSize,
  type InferResponse,
  isBytesData,
  isDataType,
  numericFromBytes,
  type ParamValue,
  type Tensor,
} from '../core/index.js';

const MAGIC = [0x49, 0x47, 0x52]; // 'IGR'
export const CODEC_VERSION = 1;
const HEADER = 12;

/** The bytes of `res` under `key`, valid until `expiresAt` (epoch ms). */
export function encodeResponse(key: string, res: InferResponse, expiresAt: number): Uint8Array {
  const params = Object.entries(res.parameters ?? {});
  // Sized first, written once: one allocation of exactly the entry's size (a cache holds no slack).
  let size = HEADER + 8 + strSize(key) + strSize(res.model) + strSize(res.version) + 8;
  for (const [name, v] of params) size += strSize(name) + 1 + paramSize(v);
  for (const t of res.outputs) size += tensorSize(t);
  // Buffer.alloc is never a slice of Node's shared pool, so an entry pins no one else's memory.
  const w = new Writer(Buffer.alloc(size));
  w.at = HEADER;
  w.f64(expiresAt);
  w.str(key);
  w.str(res.model);
  w.str(res.version);
  w.u32(params.length);
  for (const [name, v] of params) {
    w.str(name);
    param(w, v);
  }
  w.u32(res.outputs.length);
  for (const t of res.outputs) tensor(w, t);
  const out = w.buf;
  out.set(MAGIC, 0);
  out[3] = CODEC_VERSION;
  out.writeUInt32LE(size, 4);
  out.writeUInt32LE(crc32(out.subarray(HEADER)), 8);
  return out;
}

/** A decoded entry: the response and when it expires (epoch ms). */
export interface Decoded {
  response: InferResponse;
  expiresAt: number;
}

/** The entry stored in `bytes` under `key`, or undefined when they are garbage or another key's. */
export function decodeResponse(bytes: Uint8Array, key: string): Decoded | undefined {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.byteLength < HEADER || buf[0] !== MAGIC[0] || buf[1] !== MAGIC[1] || buf[2] !== MAGIC[2]) return undefined;
  if (buf[3] !== CODEC_VERSION || buf.readUInt32LE(4) !== buf.byteLength) return undefined;
  if (buf.readUInt32LE(8) !== crc32(buf.subarray(HEADER))) return undefined;
  try {
    const r = new Reader(buf);
    const expiresAt = r.f64();
    if (Number.isNaN(expiresAt) || r.str() !== key) return undefined;
    const res: InferResponse = { model: r.str(), version: r.str(), outputs: [] };
    const nParams = r.count(1 << 16);
    if (nParams > 0) res.parameters = {};
    for (let i = 0; i < nParams; i++) {
      const name = r.str();
      (res.parameters as Record<string, ParamValue>)[name] = readParam(r);
    }
    const nOutputs = r.count(1 << 16);
    for (let i = 0; i < nOutputs; i++) res.outputs.push(readTensor(r));
    return r.at === buf.byteLength ? { response: res, expiresAt } : undefined;
  } catch {
    return undefined;
  }
}

const strSize = (s: string) => 4 + Buffer.byteLength(s, 'utf8');

function paramSize(v: ParamValue): number {
  if (typeof v === 'string') return strSize(v);
  if (typeof v === 'number') return 8;
  if (typeof v === 'boolean') return 1;
  return strSize(v.toString());
}

function tensorSize(t: Tensor): number {
  let n = strSize(t.name) + strSize(t.datatype) + 4 + 8 * t.shape.length + 4;
  if (isBytesData(t.data)) for (const e of t.data) n += 4 + e.byteLength;
  else n += t.data.byteLength;
  return n;
}

function param(w: Writer, v: ParamValue): void {
  if (typeof v === 'string') {
    w.u8(0);
    w.str(v);
  } else if (typeof v === 'number') {
    w.u8(1);
    w.f64(v);
  } else if (typeof v === 'boolean') {
    w.u8(2);
    w.u8(v ? 1 : 0);
  } else {
    w.u8(3);
    w.str(v.toString());
  }
}

function readParam(r: Reader): ParamValue {
  const type = r.u8();
  if (type === 0) return r.str();
  if (type === 1) return r.f64();
  if (type === 2) return r.u8() === 1;
  if (type === 3) return BigInt(r.str());
  throw new Error('bad parameter type');
}

function tensor(w: Writer, t: Tensor): void {
  w.str(t.name);
  w.str(t.datatype);
  w.u32(t.shape.length);
  for (const d of t.shape) w.f64(d);
  if (isBytesData(t.data)) {
    w.u32(t.data.length);
    for (const e of t.data) {
      w.u32(e.byteLength);
      w.bytes(e);
    }
  } else {
    w.u32(t.data.byteLength);
    w.bytes(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
  }
}

function readTensor(r: Reader): Tensor {
  const name = r.str();
  const datatype = r.str();
  if (!isDataType(datatype)) throw new Error('bad datatype');
  const rank = r.count(32);
  const shape: number[] = [];
  for (let i = 0; i < rank; i++) {
    const d = r.f64();
    if (!Number.isSafeInteger(d) || d < 0) throw new Error('bad dim');
    shape.push(d);
  }
  const n = elementCount(shape);
  if (datatype === 'BYTES') {
    if (r.u32() !== n) throw new Error('element count');
    const data: Uint8Array[] = [];
    for (let i = 0; i < n; i++) data.push(new Uint8Array(r.bytes(r.u32())));
    return { name, datatype, shape, data };
  }
  const size = r.u32();
  if (size !== n * elementSize(datatype)) throw new Error('byte length');
  return { name, datatype, shape, data: numeric(datatype, r.bytes(size)) };
}

function numeric(dt: Exclude<DataType, 'BYTES'>, bytes: Uint8Array): Tensor['data'] {
  // numericFromBytes copies into a fresh, aligned buffer; a view on `bytes` could be misaligned.
  return bytes.byteLength === 0 ? new (arrayCtor(dt))(0) : numericFromBytes(dt, bytes);
}

/** Writes fields into a buffer sized beforehand. */
class Writer {
  at = 0;
  constructor(readonly buf: Buffer) {}

  u8(v: number): void {
    this.buf[this.at++] = v;
  }
  u32(v: number): void {
    this.at = this.buf.writeUInt32LE(v, this.at);
  }
  f64(v: number): void {
    this.at = this.buf.writeDoubleLE(v, this.at);
  }
  str(s: string): void {
    const n = this.buf.write(s, this.at + 4, 'utf8');
    this.u32(n);
    this.at += n;
  }
  bytes(b: Uint8Array): void {
    this.buf.set(b, this.at);
    this.at += b.byteLength;
  }
}

/** Reads fields, throwing on anything past the end (decodeResponse turns that into a miss). */
class Reader {
  at = HEADER;
  constructor(private readonly buf: Buffer) {}

  u8(): number {
    this.need(1);
    return this.buf[this.at++] as number;
  }
  u32(): number {
    this.need(4);
    const v = this.buf.readUInt32LE(this.at);
    this.at += 4;
    return v;
  }
  f64(): number {
    this.need(8);
    const v = this.buf.readDoubleLE(this.at);
    this.at += 8;
    return v;
  }
  /** A count no larger than `max` (a garbage count must not drive a huge loop). */
  count(max: number): number {
    const n = this.u32();
    if (n > max) throw new Error('count');
    return n;
  }
  str(): string {
    const n = this.u32();
    this.need(n);
    const s = this.buf.toString('utf8', this.at, this.at + n);
    this.at += n;
    return s;
  }
  bytes(n: number): Uint8Array {
    this.need(n);
    const b = this.buf.subarray(this.at, this.at + n);
    this.at += n;
    return b;
  }
  private need(n: number): void {
    if (this.at + n > this.buf.byteLength) throw new Error('truncated');
  }
}
