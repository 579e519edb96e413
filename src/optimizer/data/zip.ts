/**
 * A minimal zip reader for .npz files (numpy's savez/savez_compressed): finds the end-of-central-
 * directory record, walks the central directory, and extracts stored or deflated entries with
 * CRC-32 checked. Zip64 sizes are read from the extra field when the 32-bit fields overflow.
 */
import { crc32, inflateRawSync } from 'node:zlib';

export interface ZipEntry {
  name: string;
  method: number;
  compressedSize: number;
  size: number;
  crc: number;
  localOffset: number;
}

const EOCD = 0x06054b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;

/** The entries listed in a zip's central directory. */
export function zipEntries(buf: Buffer, source = 'zip'): ZipEntry[] {
  let eocd = -1;
  // The EOCD record is 22 bytes plus a comment of at most 65535 bytes, at the very end.
  for (let i = buf.length - 22; i >= Math.max(0, buf.length - 22 - 65535); i--) {
    if (buf.readUInt32LE(i) === EOCD) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new Error(`${source}: not a zip archive (no end-of-central-directory record); truncated?`);
  const count = buf.readUInt16LE(eocd + 10);
  let p = buf.readUInt32LE(eocd + 16);
  const entries: ZipEntry[] = [];
  for (let k = 0; k < count; k++) {
    if (p + 46 > buf.length || buf.readUInt32LE(p) !== CENTRAL) throw new Error(`${source}: corrupt central directory`);
    const nameLen = buf.readUInt16LE(p + 28);
    const extraLen = buf.readUInt16LE(p + 30);
    const commentLen = buf.readUInt16LE(p + 32);
    const e: ZipEntry = {
      name: buf.subarray(p + 46, p + 46 + nameLen).toString('utf8'),
      method: buf.readUInt16LE(p + 10),
      crc: buf.readUInt32LE(p + 16),
      compressedSize: buf.readUInt32LE(p + 20),
      size: buf.readUInt32LE(p + 24),
      localOffset: buf.readUInt32LE(p + 42),
    };
    applyZip64(e, buf.subarray(p + 46 + nameLen, p + 46 + nameLen + extraLen));
    entries.push(e);
    p += 46 + nameLen + extraLen + commentLen;
  }
  return entries;
}

// Zip64 extra field (id 1): 64-bit values for each 32-bit field that was 0xFFFFFFFF, in order.
function applyZip64(e: ZipEntry, extra: Buffer): void {
  for (let q = 0; q + 4 <= extra.length; ) {
    const id = extra.readUInt16LE(q);
    const len = extra.readUInt16LE(q + 2);
    if (id === 1) {
      let r = q + 4;
      const take = () => {
        r += 8;
        return Number(extra.readBigUInt64LE(r - 8));
      };
      if (e.size === 0xffffffff) e.size = take();
      if (e.compressedSize === 0xffffffff) e.compressedSize = take();
      if (e.localOffset === 0xffffffff) e.localOffset = take();
    }
    q += 4 + len;
  }
}

/** The uncompressed bytes of one entry (stored or deflate), CRC-checked. */
export function zipRead(buf: Buffer, e: ZipEntry, source = 'zip'): Buffer {
  const p = e.localOffset;
  if (buf.readUInt32LE(p) !== LOCAL) throw new Error(`${source}: bad local header for ${e.name}`);
  const start = p + 30 + buf.readUInt16LE(p + 26) + buf.readUInt16LE(p + 28);
  const raw = buf.subarray(start, start + e.compressedSize);
  if (raw.length < e.compressedSize) throw new Error(`${source}: ${e.name} is truncated`);
  let data: Buffer;
  if (e.method === 0) data = raw;
  else if (e.method === 8) data = inflateRawSync(raw);
  else
    throw new Error(`${source}: ${e.name} uses compression method ${e.method} (only stored and deflate are supported)`);
  if (data.length !== e.size || crc32(data) !== e.crc) throw new Error(`${source}: ${e.name} fails its CRC/size check`);
  return data;
}
