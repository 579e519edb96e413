/**
 * Image decoding for image validation folders: PNG (pngjs) and JPEG (jpeg-js), told apart by their
 * magic bytes, never by the file name. Alpha is composited over a background (white by default: the
 * usual backdrop of document and text images). Any other format, and any file the decoders reject,
 * is refused with an error that names the file.
 */
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { inflateSync } from 'node:zlib';

/** A decoded image: HWC float pixels in [0, 1], 1 (grey) or 3 (RGB) channels. */
export interface Image {
  width: number;
  height: number;
  channels: 1 | 3;
  data: Float32Array;
}

const SUPPORTED = 'supported formats: PNG, JPEG';
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
// jpeg-js's own default cap, applied to PNG too: a forged header must not allocate gigabytes.
const MAX_MEGAPIXELS = 100;

/** Formats recognised only to name them in the refusal. */
const OTHER_FORMATS: [string, (b: Buffer) => boolean][] = [
  ['GIF', (b) => b.toString('latin1', 0, 4) === 'GIF8'],
  ['WebP', (b) => b.toString('latin1', 0, 4) === 'RIFF' && b.toString('latin1', 8, 12) === 'WEBP'],
  ['BMP', (b) => b.toString('latin1', 0, 2) === 'BM'],
  ['TIFF', (b) => ['II*\0', 'MM\0*'].includes(b.toString('latin1', 0, 4))],
];

/** Decode PNG or JPEG bytes; `source` names the file in errors. */
export function decodeImage(buf: Buffer, source = 'image', background = 1): Image {
  if (buf.subarray(0, 8).equals(PNG_SIGNATURE)) return decodeAs('PNG', source, () => fromPng(buf, background));
  if (buf[0] === 0xff && buf[1] === 0xd8 && buf[2] === 0xff) return decodeAs('JPEG', source, () => fromJpeg(buf));
  const other = OTHER_FORMATS.find(([, test]) => test(buf))?.[0];
  throw new Error(`${source}: ${other ? `${other} images are not supported` : 'not an image file'} (${SUPPORTED})`);
}

// The decoders' messages are terse ("There are some read requests waitng on finished stream"):
// say which file and that it is damaged, keeping their words for detail.
function decodeAs(format: string, source: string, decode: () => Image): Image {
  try {
    return decode();
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    throw new Error(`${source}: cannot decode this ${format} file, it is truncated, corrupt or too large (${why})`);
  }
}

function fromJpeg(buf: Buffer): Image {
  // tolerantDecoding (jpeg-js's default) would return a cut-off file with its missing part grey.
  const img = jpeg.decode(buf, {
    useTArray: true,
    formatAsRGBA: false,
    tolerantDecoding: false,
    maxResolutionInMP: MAX_MEGAPIXELS,
  });
  return { width: img.width, height: img.height, channels: 3, data: Float32Array.from(img.data, (v) => v / 255) };
}

function fromPng(buf: Buffer, background: number): Image {
  const png = PNG.sync.read(checkPng(buf), { skipRescale: true });
  // skipRescale keeps 16-bit precision; palette entries are 8-bit whatever the index depth.
  const max = png.palette ? 255 : 2 ** png.depth - 1;
  const ch = png.color ? 3 : 1;
  const n = png.width * png.height;
  const data = new Float32Array(n * ch);
  // pngjs gives RGBA for every colour type (grey repeated), alpha at full where the file has none.
  for (let i = 0; i < n; i++) {
    const alpha = png.data[i * 4 + 3]! / max;
    for (let c = 0; c < ch; c++) data[i * ch + c] = (png.data[i * 4 + c]! / max) * alpha + background * (1 - alpha);
  }
  return { width: png.width, height: png.height, channels: ch, data };
}

/**
 * Checks pngjs (7.0.0) leaves out, walking the chunk list only: the pixel count against the cap, and
 * that the image data inflates to the size the header promises. pngjs's synchronous inflate returns
 * a full-size buffer when the zlib stream ends early, so rows missing from a damaged file would come
 * back as uninitialised memory instead of an error. Returns the bytes up to IEND, as pngjs refuses
 * anything after it and other decoders ignore it.
 */
function checkPng(buf: Buffer): Buffer {
  if (buf.length < 33 || buf.toString('latin1', 12, 16) !== 'IHDR') return buf; // pngjs says what is wrong
  const [width, height] = [buf.readUInt32BE(16), buf.readUInt32BE(20)];
  const [depth, colorType, interlace] = [buf[24]!, buf[25]!, buf[28]!];
  if (width * height > MAX_MEGAPIXELS * 1e6)
    throw new Error(`${width}×${height} is over the ${MAX_MEGAPIXELS}-megapixel limit`);
  const idat: Buffer[] = [];
  let p = 8;
  while (p + 8 <= buf.length) {
    const type = buf.toString('latin1', p + 4, p + 8);
    const end = p + 12 + buf.readUInt32BE(p);
    if (type === 'IDAT') idat.push(buf.subarray(p + 8, end - 4));
    p = end;
    if (type === 'IEND') break;
  }
  const samples = ({ 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 } as Record<number, number>)[colorType];
  // Interlaced data goes through zlib's own inflate in pngjs, which does notice a short stream.
  if (samples !== undefined && interlace === 0) {
    const expected = height * (Math.ceil((width * samples * depth) / 8) + 1);
    const got = inflatedLength(Buffer.concat(idat), expected);
    if (got < expected) throw new Error(`image data ends early: ${got} of ${expected} bytes`);
  }
  return buf.subarray(0, Math.min(p, buf.length));
}

// Inflated length, counting no further than `limit` (data past it is harmless to pngjs).
function inflatedLength(data: Buffer, limit: number): number {
  try {
    return inflateSync(data, { maxOutputLength: limit }).length;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') return limit;
    throw err;
  }
}
