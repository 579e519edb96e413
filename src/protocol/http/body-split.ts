/**
 * Binary-extension infer bodies read straight into their final memory (protocol.md §B.1): the
 * JSON header into one buffer and the binary section into a buffer of its own, so a single
 * binary input is used and transferred to the worker as it is. Reading into one body and then
 * copying each tensor out made three copies of every input on the event loop (socket chunks,
 * the joined body, the tensor); on image models that garbage drove the main heap's full GCs.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import { invalidArg } from '../../core/index.js';
import { HEADER_LENGTH, parseHeaderLength } from './binary.js';
import type { RouteName } from './routes.js';

/** An infer body split at Inference-Header-Content-Length. */
export interface SplitBody {
  /** The JSON header (Inference-Header-Content-Length bytes). */
  json: Buffer;
  /** Everything after it, in an ArrayBuffer of its own (offset 0, so aligned for any datatype). */
  binary: Uint8Array;
}

/**
 * Where the body of a request to `route` splits: its Content-Length and header length, for an
 * infer request whose header length is valid (binary.ts decides that, for both paths) and fits
 * an uncompressed body. Anything else (undefined) is read whole, and the infer handler reports
 * what is wrong with it.
 */
export function splitPoint(
  route: RouteName | undefined,
  headers: IncomingHttpHeaders,
): { total: number; header: number } | undefined {
  if (route !== 'infer' || headers[HEADER_LENGTH] === undefined) return undefined;
  const enc = headers['content-encoding'];
  if (enc !== undefined && enc.trim().toLowerCase() !== 'identity') return undefined;
  const total = plainInt(headers['content-length']);
  if (total === undefined) return undefined;
  try {
    const header = parseHeaderLength(headers[HEADER_LENGTH], total);
    return header === undefined ? undefined : { total, header };
  } catch {
    return undefined;
  }
}

function plainInt(v: string | string[] | undefined): number | undefined {
  if (typeof v !== 'string' || !/^\s*\d{1,10}\s*$/.test(v)) return undefined;
  const n = Number(v);
  return n <= 0x7fffffff ? n : undefined;
}

/** Reads a body of exactly `total` bytes (its Content-Length) into a SplitBody. */
export function readSplitBody(stream: Readable, total: number, header: number): Promise<SplitBody> {
  const json = Buffer.allocUnsafe(header);
  const binary = new Uint8Array(total - header);
  return new Promise<SplitBody>((resolve, reject) => {
    let at = 0;
    stream.on('data', (chunk: Buffer) => {
      // HTTP framing never delivers more than Content-Length; guard anyway so nothing writes past the end.
      const n = Math.min(chunk.byteLength, total - at);
      const toJson = Math.max(0, Math.min(n, header - at));
      if (toJson > 0) json.set(chunk.subarray(0, toJson), at);
      if (n > toJson) binary.set(chunk.subarray(toJson, n), at + toJson - header);
      at += n;
    });
    stream.on('end', () => {
      if (at === total) resolve({ json, binary });
      else reject(invalidArg(`the request body ended after ${at} of its ${total} bytes (Content-Length)`));
    });
    stream.on('error', (err) => reject(invalidArg(`failed to read the request body: ${err.message}`)));
  });
}
