/**
 * Request bodies in (with optional gzip/deflate decoding) and response compression out
 * (protocol.md §B.1 "Compression"). The size limit applies to the bytes on the wire and again to
 * the decoded bytes, counted while streaming so a small bomb never inflates past the limit.
 */
import type { Readable } from 'node:stream';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { InferError, invalidArg } from '../../core/index.js';
import { unsupportedEncoding } from './media-type.js';

const gzip = promisify(zlib.gzip);
const deflate = promisify(zlib.deflate);

/** The 413 error, naming the limit. */
export function bodyTooLarge(limit: number, what = 'request body'): InferError {
  return new InferError('IG_ERR_PAYLOAD_TOO_LARGE', `${what} exceeds the limit of ${limit} bytes`, {
    headers: { connection: 'close' },
  });
}

/**
 * The 413 for JSON in an infer request (the whole body, or a binary request's JSON header) over
 * `limit`: JSON costs the event loop ~4x binary per element (4 / 15 / 60 MB blocked it 223 / 585 /
 * 1,500 ms), so large tensors belong in the binary extension.
 */
export function jsonTooLarge(limit: number): InferError {
  return new InferError(
    'IG_ERR_PAYLOAD_TOO_LARGE',
    `the JSON of the inference request exceeds the limit of ${limit} bytes (--max-json-bytes); send large tensors ` +
      `with the binary tensor extension ('binary_data_size' and the Inference-Header-Content-Length header)`,
    { headers: { connection: 'close' } },
  );
}

/** Reads a whole request body, decoding Content-Encoding gzip/deflate; both sizes capped at `limit`. */
export async function readBody(
  stream: Readable,
  contentEncoding: string | undefined,
  contentLength: string | undefined,
  limit: number,
): Promise<Buffer> {
  if (contentLength !== undefined && Number(contentLength) > limit) throw bodyTooLarge(limit);
  const decoder = makeDecoder(contentEncoding);
  if (decoder === undefined) return collect(stream, limit, 'request body');
  const decoded = collect(decoder, limit, 'decompressed request body', true);
  const [body] = await Promise.all([decoded, feed(stream, decoder, limit)]);
  return body;
}

/** Pipes the wire bytes into the decoder with backpressure, capping the wire size too. */
function feed(stream: Readable, decoder: zlib.Gunzip | zlib.Inflate, limit: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let wireBytes = 0;
    const onData = (chunk: Buffer) => {
      wireBytes += chunk.byteLength;
      const over = wireBytes > limit;
      if (over || decoder.destroyed) {
        // Stop reading; the socket stays up so the error response can be sent.
        stream.removeListener('data', onData);
        stream.pause();
        if (over) decoder.destroy(bodyTooLarge(limit));
        if (over) reject(bodyTooLarge(limit));
        return;
      }
      if (!decoder.write(chunk)) stream.pause();
    };
    stream.on('data', onData);
    decoder.on('drain', () => stream.resume());
    stream.on('end', () => {
      decoder.end();
      resolve();
    });
    stream.on('error', (err) => reject(invalidArg(`failed to read the request body: ${err.message}`)));
  });
}

/** zlib stream for a Content-Encoding; undefined for identity; 415 for anything else. */
function makeDecoder(encoding: string | undefined): zlib.Gunzip | zlib.Inflate | undefined {
  const e = (encoding ?? '').trim().toLowerCase();
  if (e === '' || e === 'identity') return undefined;
  if (e === 'gzip' || e === 'x-gzip') return zlib.createGunzip();
  if (e === 'deflate') return zlib.createInflate();
  throw unsupportedEncoding(e);
}

/**
 * Collects a stream into one Buffer, failing with 413 as soon as more than `limit` bytes arrive.
 * Chunks are copied into one growing buffer as they arrive and never kept: a chunked body sent in
 * 1-byte chunks would otherwise keep a Buffer object per byte (measured: ~390 MB of RSS per MiB of
 * body), where this holds at most twice the body. On overflow the request socket is only paused,
 * not destroyed: the 413 must still reach the client, and the `connection: close` header on it
 * ends the connection afterwards. A zlib decoder (`destroyOnOverflow`) is destroyed to free its
 * buffers.
 */
function collect(stream: Readable, limit: number, what: string, destroyOnOverflow = false): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    const body = new GrowingBuffer(limit);
    let only: Buffer | undefined;
    let chunks = 0;
    const stop = (err: InferError) => {
      only = undefined;
      body.release();
      stream.removeListener('data', onData);
      stream.pause();
      if (destroyOnOverflow) stream.destroy();
      reject(err);
    };
    const onData = (chunk: Buffer) => {
      // Node itself spends ~20 bytes of memory and ~30 µs per chunk event: a body in tiny chunks
      // costs far more than its size (1 MiB in 1-byte chunks: 22 MB, 16 MiB: 37 s). Past a few
      // thousand chunks, the average chunk must be a reasonable size.
      if (++chunks > MAX_TINY_CHUNKS && (body.length + (only?.byteLength ?? 0)) / chunks < MIN_AVERAGE_CHUNK)
        return stop(invalidArg(tinyChunks(chunks)));
      if (body.length + chunk.byteLength <= limit) {
        // The common case, a body in one chunk, is kept as it is (no copy).
        if (body.length === 0 && only === undefined) only = chunk;
        else {
          if (only !== undefined) body.append(only);
          only = undefined;
          body.append(chunk);
        }
        return;
      }
      stop(bodyTooLarge(limit, what));
    };
    stream.on('data', onData);
    stream.on('end', () => resolve(only ?? body.bytes()));
    stream.on('error', (err) =>
      reject(err instanceof InferError ? err : invalidArg(`failed to read the ${what}: ${err.message}`)),
    );
  });
}

/** Chunks a body may arrive in before their average size is checked. */
const MAX_TINY_CHUNKS = 16_384;
/** The smallest average chunk accepted past MAX_TINY_CHUNKS, bytes. */
const MIN_AVERAGE_CHUNK = 64;

function tinyChunks(n: number): string {
  return `the request body arrived in more than ${n - 1} chunks averaging under ${MIN_AVERAGE_CHUNK} bytes; send it in larger chunks (or with a Content-Length)`;
}

/** Bytes appended into one buffer that doubles as needed, up to `limit`. */
class GrowingBuffer {
  private buf: Buffer = Buffer.alloc(0);
  length = 0;

  constructor(private readonly limit: number) {}

  append(chunk: Buffer): void {
    const need = this.length + chunk.byteLength;
    if (need > this.buf.byteLength) {
      const next = Buffer.allocUnsafe(Math.min(this.limit, Math.max(need, 64 * 1024, this.buf.byteLength * 2)));
      this.buf.copy(next, 0, 0, this.length);
      this.buf = next;
    }
    chunk.copy(this.buf, this.length);
    this.length = need;
  }

  /** The bytes, in a buffer of exactly their size when growth left much slack. */
  bytes(): Buffer {
    const view = this.buf.subarray(0, this.length);
    return this.length * 2 < this.buf.byteLength ? Buffer.from(view) : view;
  }

  release(): void {
    this.buf = Buffer.alloc(0);
    this.length = 0;
  }
}

/** The response encoding to use for an Accept-Encoding header (q-weights honoured), or undefined. */
export function chooseEncoding(accept: string | undefined): 'gzip' | 'deflate' | undefined {
  if (accept === undefined) return undefined;
  let best: 'gzip' | 'deflate' | undefined;
  let bestQ = 0;
  for (const part of accept.split(',')) {
    const [token, ...params] = part.trim().toLowerCase().split(';');
    if (token !== 'gzip' && token !== 'deflate') continue;
    const qParam = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    const q = qParam === undefined ? 1 : Number(qParam.slice(2));
    // Ties keep the first listed; gzip is the more common client choice.
    if (Number.isFinite(q) && q > bestQ) {
      best = token;
      bestQ = q;
    }
  }
  return best;
}

/** Compresses a response body off the event loop (zlib's thread pool). */
export function compress(body: Buffer, encoding: 'gzip' | 'deflate'): Promise<Buffer> {
  return encoding === 'gzip' ? gzip(body) : deflate(body);
}
