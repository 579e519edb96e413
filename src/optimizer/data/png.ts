/**
 * PNG decoding for image validation folders, written against the PNG spec: chunk walk with CRC
 * checks, zlib inflate of the IDAT stream, the five scanline filters, bit depths 1–16 and every
 * colour type. Alpha is composited over a background (white by default: the usual backdrop of
 * document and text images). Adam7-interlaced files are refused with a clear message.
 */
import { crc32, inflateSync } from 'node:zlib';

/** A decoded image: HWC float pixels in [0, 1], 1 (grey) or 3 (RGB) channels. */
export interface Image {
  width: number;
  height: number;
  channels: 1 | 3;
  data: Float32Array;
}

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const SAMPLES: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };

interface Header {
  width: number;
  height: number;
  depth: number;
  colorType: number;
  interlace: number;
}

/** Decode PNG bytes; `source` names the file in errors. */
export function decodePng(buf: Buffer, source = 'png', background = 1): Image {
  if (buf.length < 8 || !buf.subarray(0, 8).equals(SIGNATURE)) {
    const jpeg = buf[0] === 0xff && buf[1] === 0xd8;
    throw new Error(`${source}: ${jpeg ? 'JPEG is not supported, convert it to PNG' : 'not a PNG file'}`);
  }
  let header: Header | undefined;
  let palette: Buffer | undefined;
  let trns: Buffer | undefined;
  const idat: Buffer[] = [];
  for (let p = 8; p + 12 <= buf.length; ) {
    const len = buf.readUInt32BE(p);
    const type = buf.toString('latin1', p + 4, p + 8);
    if (p + 12 + len > buf.length) throw new Error(`${source}: truncated ${type} chunk`);
    const data = buf.subarray(p + 8, p + 8 + len);
    if (crc32(buf.subarray(p + 4, p + 8 + len)) !== buf.readUInt32BE(p + 8 + len))
      throw new Error(`${source}: CRC mismatch in ${type} chunk`);
    if (type === 'IHDR') header = readHeader(data, source);
    else if (type === 'PLTE') palette = data;
    else if (type === 'tRNS') trns = data;
    else if (type === 'IDAT') idat.push(data);
    else if (type === 'IEND') break;
    p += 12 + len;
  }
  if (!header || idat.length === 0) throw new Error(`${source}: missing IHDR or IDAT; truncated?`);
  if (header.colorType === 3 && !palette) throw new Error(`${source}: palette image without PLTE`);
  const raw = unfilter(inflateSync(Buffer.concat(idat)), header, source);
  return toImage(raw, header, palette, trns, background);
}

function readHeader(d: Buffer, source: string): Header {
  const h = { width: d.readUInt32BE(0), height: d.readUInt32BE(4), depth: d[8]!, colorType: d[9]!, interlace: d[12]! };
  if (SAMPLES[h.colorType] === undefined) throw new Error(`${source}: unknown PNG colour type ${h.colorType}`);
  if (h.interlace !== 0)
    throw new Error(`${source}: Adam7-interlaced PNG is not supported; save it without interlacing`);
  if (![1, 2, 4, 8, 16].includes(h.depth)) throw new Error(`${source}: bit depth ${h.depth} is invalid`);
  return h;
}

function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const pa = Math.abs(p - a);
  const pb = Math.abs(p - b);
  const pc = Math.abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/** Undo the per-scanline filters; returns the packed sample bytes, row after row. */
function unfilter(data: Buffer, h: Header, source: string): Uint8Array {
  const bitsPerPixel = SAMPLES[h.colorType]! * h.depth;
  const bpp = Math.max(1, bitsPerPixel >> 3);
  const stride = Math.ceil((h.width * bitsPerPixel) / 8);
  if (data.length < h.height * (stride + 1)) throw new Error(`${source}: image data is truncated`);
  const out = new Uint8Array(h.height * stride);
  for (let y = 0; y < h.height; y++) {
    const filter = data[y * (stride + 1)]!;
    const src = y * (stride + 1) + 1;
    const row = y * stride;
    const prev = row - stride;
    for (let x = 0; x < stride; x++) {
      const a = x >= bpp ? out[row + x - bpp]! : 0;
      const b = y > 0 ? out[prev + x]! : 0;
      const c = x >= bpp && y > 0 ? out[prev + x - bpp]! : 0;
      const v = data[src + x]!;
      const pred = [0, a, b, (a + b) >> 1, paeth(a, b, c)][filter];
      if (pred === undefined) throw new Error(`${source}: unknown filter type ${filter} on row ${y}`);
      out[row + x] = (v + pred) & 0xff;
    }
  }
  return out;
}

// Sample i (0-based within the row) of a packed row at any bit depth, as an integer.
function sampleAt(raw: Uint8Array, rowStart: number, i: number, depth: number): number {
  if (depth === 8) return raw[rowStart + i]!;
  if (depth === 16) return (raw[rowStart + 2 * i]! << 8) | raw[rowStart + 2 * i + 1]!;
  const bit = i * depth;
  const byte = raw[rowStart + (bit >> 3)]!;
  return (byte >> (8 - depth - (bit & 7))) & ((1 << depth) - 1);
}

function toImage(raw: Uint8Array, h: Header, palette: Buffer | undefined, trns: Buffer | undefined, bg: number): Image {
  const spp = SAMPLES[h.colorType]!;
  const stride = Math.ceil((h.width * spp * h.depth) / 8);
  const max = (1 << h.depth) - 1;
  const rgbOut = h.colorType === 2 || h.colorType === 6 || h.colorType === 3;
  const ch = rgbOut ? 3 : 1;
  const data = new Float32Array(h.width * h.height * ch);
  const px = [0, 0, 0, 0];
  for (let y = 0; y < h.height; y++) {
    for (let x = 0; x < h.width; x++) {
      for (let s = 0; s < spp; s++) px[s] = sampleAt(raw, y * stride, x * spp + s, h.depth);
      let color: number[];
      let alpha = 1;
      if (h.colorType === 3) {
        const i = px[0]!;
        color = [palette![3 * i]! / 255, palette![3 * i + 1]! / 255, palette![3 * i + 2]! / 255];
        alpha = trns && i < trns.length ? trns[i]! / 255 : 1;
      } else {
        color = px.slice(0, ch).map((v) => v / max);
        if (spp === ch + 1) alpha = px[ch]! / max;
      }
      const o = (y * h.width + x) * ch;
      for (let c = 0; c < ch; c++) data[o + c] = color[c]! * alpha + bg * (1 - alpha);
    }
  }
  return { width: h.width, height: h.height, channels: ch, data };
}
