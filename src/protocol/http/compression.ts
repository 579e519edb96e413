/**
 * Request bodies in (with optional gzip/deflate decoding) and response compression out
 * (protocol.md §B.1 "Compression"). The size limit applies to the bytes on the wire and again to
 * the decoded bytes, counted while streaming so a small bomb never inflates past the limit.
 */
import type { Readable } from 'node:stream';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { InferError, invalidArg } from '../../core/index.js';

const gzip = promisify(zlib.gzip);
const deflate = promisify(zlib.deflate);

/** The 413 error, naming the limit. */
export function bodyTooLarge(limit: number, what = 'request body'): InferError {
  return new InferError('IG_ERR_PAYLOAD_TOO_LARGE', `${what} exceeds the limit of ${limit} bytes`, {
    headers: { connection: 'close' },
  });
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

/** zlib stream for a Content-Encoding; undefined for identity; 400 for anything else. */
function makeDecoder(encoding: string | undefined): zlib.Gunzip | zlib.Inflate | undefined {
  const e = (encoding ?? '').trim().toLowerCase();
  if (e === '' || e === 'identity') return undefined;
  if (e === 'gzip' || e === 'x-gzip') return zlib.createGunzip();
  if (e === 'deflate') return zlib.createInflate();
  throw invalidArg(`unsupported Content-Encoding '${e.slice(0, 40)}'; use gzip or deflate`);
}

/**
 * Collects a stream into one Buffer, failing with 413 as soon as more than `limit` bytes arrive.
 * On overflow the request socket is only paused, not destroyed: the 413 must still reach the
 * client, and the `connection: close` header on it ends the connection afterwards. A zlib
 * decoder (`destroyOnOverflow`) is destroyed to free its buffers.
 */
function collect(stream: Readable, limit: number, what: string, destroyOnOverflow = false): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = 0;
    const onData = (chunk: Buffer) => {
      total += chunk.byteLength;
      if (total <= limit) {
        chunks.push(chunk);
        return;
      }
      chunks.length = 0;
      stream.removeListener('data', onData);
      stream.pause();
      if (destroyOnOverflow) stream.destroy();
      reject(bodyTooLarge(limit, what));
    };
    stream.on('data', onData);
    stream.on('end', () => resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, total)));
    stream.on('error', (err) =>
      reject(err instanceof InferError ? err : invalidArg(`failed to read the ${what}: ${err.message}`)),
    );
  });
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
