/**
 * The served OCR ensemble's TypeScript steps (examples/models/ocr and ocr_*): runOcr's algorithms
 * (pipeline.ts, 'verify' flip mode) cut where the ensemble calls a network, with what crosses a
 * step boundary packed into tensors. Pure: tensors in, tensors out; each model.ts only names them.
 *
 *   IMAGE → detectPre → paddleocr_det → cropStep → paddleocr_cls → recPrep → paddleocr_rec → decodeStep
 *
 * A request's own fault (bytes that are no image, a page too large, too many lines, tensors that
 * do not fit together when a step is called directly) throws ModelInputError: a 400 naming it.
 */
import { ModelInputError } from '../../src/backend/typescript/api.js';
import { decodeImage, type Image } from '../../src/optimizer/data/image.js';
import { cropLines } from './crop.js';
import { clsDecide, clsInput, flipCandidates, resolveFlips, withFlips } from './cls.js';
import { type DetBox, detPostprocess } from './det-post.js';
import { detPreprocess, type TensorData } from './det-pre.js';
import type { Point, Quad } from './geometry.js';
import { CROP_MARGIN, keepLines, type OcrLine, type OcrOptions } from './pipeline.js';
import { recDecode, recInput, recWidth } from './rec.js';

/** Larger pages are refused from their header, before decoding (16.8 Mpx: a 300-dpi A3 scan fits). */
export const MAX_PIXELS = 4096 * 4096;
/**
 * Most text lines read per image. Every line is one row of paddleocr_cls, and up to two of
 * paddleocr_rec (read as it stands, and turned over when cls leans to 180°), so the two models'
 * max_batch_size must be at least this and twice this.
 */
export const MAX_LINES = 64;

/** Width and height from a PNG's IHDR or a JPEG's frame header; undefined when neither is found. */
export function imageSize(b: Uint8Array): { format: 'PNG' | 'JPEG'; width: number; height: number } | undefined {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (b.length >= 24 && v.getUint32(0) === 0x89504e47 && v.getUint32(12) === 0x49484452)
    return { format: 'PNG', width: v.getUint32(16), height: v.getUint32(20) };
  if (b.length < 4 || b[0] !== 0xff || b[1] !== 0xd8) return undefined;
  // Walk the JPEG segments to the first start-of-frame (SOF0..SOF15 but DHT, JPG and DAC).
  let p = 2;
  while (p + 9 <= b.length && b[p] === 0xff) {
    const marker = b[p + 1]!;
    if (marker === 0xff || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      p += marker === 0xff ? 1 : 2;
      continue;
    }
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc)
      return { format: 'JPEG', width: v.getUint16(p + 7), height: v.getUint16(p + 5) };
    p += 2 + v.getUint16(p + 2);
  }
  return undefined;
}

/** Step 1a: PNG or JPEG bytes → the decoded page; refuses a page over `maxPixels` before decoding. */
export function decodePage(bytes: Uint8Array, maxPixels = MAX_PIXELS): Image {
  const size = imageSize(bytes);
  if (size !== undefined && size.width * size.height > maxPixels)
    throw new ModelInputError(
      `IMAGE is a ${size.width}×${size.height} ${size.format}, larger than the ${maxPixels} pixels a page may have`,
    );
  try {
    return decodeImage(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), 'IMAGE');
  } catch (err) {
    throw new ModelInputError(err instanceof Error ? err.message : 'IMAGE: not a PNG or JPEG image');
  }
}

/** Step 1: image bytes → the page (HWC) and the detector's [1, 3, H, W] input. */
export function detectPre(bytes: Uint8Array, opts: OcrOptions = {}): { page: Image; det: TensorData } {
  const page = decodePage(bytes);
  return { page, det: detPreprocess(page, opts.det).tensor };
}

/** A page tensor ([H, W, C], C 1 or 3) as an Image. */
export function pageOf(shape: readonly number[], data: Float32Array): Image {
  const [height, width, channels] = shape as [number, number, number];
  if (shape.length !== 3 || (channels !== 1 && channels !== 3) || data.length !== height * width * channels)
    throw new ModelInputError(`PAGE must be [height, width, 1 or 3] pixels, got [${shape.join(', ')}]`);
  return { width, height, channels, data };
}

/** Images of different sizes in one tensor: their pixels end to end, and [N, 3] (width, height, channels). */
export interface PackedImages {
  data: Float32Array;
  dims: Int32Array;
}

export function packImages(images: Image[]): PackedImages {
  const data = new Float32Array(images.reduce((n, img) => n + img.data.length, 0));
  const dims = new Int32Array(images.length * 3);
  let at = 0;
  images.forEach((img, i) => {
    data.set(img.data, at);
    at += img.data.length;
    dims.set([img.width, img.height, img.channels], i * 3);
  });
  return { data, dims };
}

export function unpackImages({ data, dims }: PackedImages): Image[] {
  const images: Image[] = [];
  let at = 0;
  for (let i = 0; i + 2 < dims.length; i += 3) {
    const [width, height, channels] = [dims[i]!, dims[i + 1]!, dims[i + 2]!];
    const n = width * height * channels;
    if (width < 1 || height < 1 || (channels !== 1 && channels !== 3) || at + n > data.length)
      throw new ModelInputError(`CROP_DIMS row ${i / 3} (${width}×${height}×${channels}) does not fit CROPS`);
    images.push({ width, height, channels, data: data.subarray(at, at + n) });
    at += n;
  }
  if (at !== data.length || dims.length % 3 !== 0)
    throw new ModelInputError(`CROPS holds ${data.length} values, CROP_DIMS describes ${at}`);
  return images;
}

/** Boxes as N × 8 coordinates (x, y of top-left, top-right, bottom-right, bottom-left) and back. */
export function flatBoxes(boxes: Quad[]): Float32Array {
  return Float32Array.from(boxes.flatMap((q) => q.flat()));
}

export function quadsOf(flat: Float32Array): Quad[] {
  if (flat.length % 8 !== 0) throw new ModelInputError(`boxes hold ${flat.length} values, not a multiple of 8`);
  return Array.from({ length: flat.length / 8 }, (_, i) => {
    const p = (k: number): Point => [flat[i * 8 + 2 * k]!, flat[i * 8 + 2 * k + 1]!];
    return [p(0), p(1), p(2), p(3)];
  });
}

/** What cropStep hands on. Batched tensors hold one blank row when no line was found (`lines` 0). */
export interface CropStepOutput {
  /** [max(N, 1), 3, 48, 192]: the tight crops, paddleocr_cls's input. */
  cls: TensorData;
  /** max(N, 1) crops with a margin, for the recogniser. */
  crops: PackedImages;
  /** N × 8 box corners in page pixels, reading order. */
  boxes: Float32Array;
  /** N detector box scores. */
  scores: Float32Array;
  /** N, the lines found. */
  lines: number;
}

/**
 * Step 3: the detector's [1, 1, h, w] probability map and the page → boxes in reading order and the
 * crops. More than `maxLines` lines is refused; none gives one blank row (step models take no batch
 * of 0 rows), which recPrep never nominates and decodeStep never reads.
 */
export function cropStep(map: TensorData, page: Image, opts: OcrOptions = {}, maxLines = MAX_LINES): CropStepOutput {
  const [n, c, h, w] = map.dims as [number, number, number, number];
  if (map.dims.length !== 4 || n !== 1 || c !== 1)
    throw new ModelInputError(`the detector map must be [1, 1, height, width], got [${map.dims.join(', ')}]`);
  const found: DetBox[] = detPostprocess(map.data, w, h, page.width, page.height, opts.det);
  if (found.length > maxLines)
    throw new ModelInputError(
      `the image has ${found.length} text lines, more than the ${maxLines} read per image: send it in parts`,
    );
  const crops = cropLines(
    page,
    found.map((b) => b.box),
    opts.cropMargin ?? CROP_MARGIN,
  );
  if (found.length === 0) {
    const white = new Float32Array(16 * 8 * page.channels).fill(1);
    const blank: Image = { width: 16, height: 8, channels: page.channels, data: white };
    crops.tight.push(blank);
    crops.rec.push(blank);
  }
  return {
    cls: clsInput(crops.tight),
    crops: packImages(crops.rec),
    boxes: flatBoxes(found.map((b) => b.box)),
    scores: Float32Array.from(found, (b) => b.score),
    lines: found.length,
  };
}

/**
 * Step 5: the crops, the classifier's [N, 2] probabilities and the number of real lines → the
 * recogniser's [M, 3, 48, W] input (every crop as it stands, then the flip candidates turned 180°,
 * one width W for all) and the candidates' line indices.
 */
export function recPrep(
  crops: Image[],
  clsProbs: Float32Array,
  lines: number,
  opts: OcrOptions = {},
): { rec: TensorData; candidates: Int32Array } {
  if (clsProbs.length !== crops.length * 2 || lines > crops.length || lines < 0)
    throw new ModelInputError(
      `${crops.length} crops, ${clsProbs.length / 2} classifier rows and ${lines} lines do not fit together`,
    );
  const candidates = flipCandidates(clsDecide(clsProbs, crops.length, opts.clsThresh).slice(0, lines));
  const rows = withFlips(crops, candidates);
  return { rec: recInput(rows, recWidth(rows, opts.rec)), candidates: Int32Array.from(candidates) };
}

/**
 * Step 7: the recogniser's [M, T, classes] probabilities, the candidates and the boxes → the lines
 * read, in reading order; a flip candidate's turned reading wins when it is more confident.
 */
export function decodeStep(
  probs: TensorData,
  keys: string[],
  candidates: Int32Array,
  boxes: Float32Array,
  scores: Float32Array,
  opts: OcrOptions = {},
): OcrLine[] {
  const quads = quadsOf(boxes);
  if (quads.length !== scores.length)
    throw new ModelInputError(`${quads.length} boxes but ${scores.length} box scores`);
  const reads = recDecode(probs.data, probs.dims, keys);
  if (quads.length === 0) return [];
  if (reads.length !== quads.length + candidates.length)
    throw new ModelInputError(
      `${reads.length} recogniser rows for ${quads.length} lines and ${candidates.length} flip candidates`,
    );
  if (candidates.some((i) => i < 0 || i >= quads.length))
    throw new ModelInputError(`CANDIDATES names lines outside 0..${quads.length - 1}`);
  const found = quads.map((box, i) => ({ box, score: scores[i]! }));
  return keepLines(resolveFlips(reads, quads.length, Array.from(candidates)), found, opts.dropScore);
}
