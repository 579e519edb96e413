/**
 * Which request bodies the server reads: JSON, the binary tensor extension, and what Triton's
 * clients and curl send. Anything else (pickle, YAML, XML, multipart, plain text) is refused with
 * 415 before a byte of it is read, instead of being parsed as JSON. Content-Encodings are
 * compression.ts's to decide; an unknown one gets the same 415 (unsupportedEncoding).
 */
import { InferError } from '../../core/index.js';

const ACCEPTED = new Set([
  'application/json',
  // The binary tensor extension's body (JSON header + raw tensor bytes).
  'application/octet-stream',
  // curl's default for -d: users who forget -H 'content-type: application/json' are common.
  'application/x-www-form-urlencoded',
]);

/** Throws IG_ERR_UNSUPPORTED_MEDIA_TYPE naming the type when the body is not one the server reads. */
export function checkMediaType(contentType: string | undefined): void {
  const type = (contentType ?? '').split(';', 1)[0]!.trim().toLowerCase();
  if (type !== '' && !ACCEPTED.has(type) && !/^application\/[\w.+-]+\+json$/.test(type))
    throw new InferError(
      'IG_ERR_UNSUPPORTED_MEDIA_TYPE',
      `unsupported Content-Type '${type.slice(0, 60)}'; send application/json, or application/octet-stream with the binary tensor extension`,
      { headers: { accept: 'application/json, application/octet-stream', connection: 'close' } },
    );
}

/** The 415 for a Content-Encoding the server cannot decode. */
export function unsupportedEncoding(encoding: string): InferError {
  return new InferError(
    'IG_ERR_UNSUPPORTED_MEDIA_TYPE',
    `unsupported Content-Encoding '${encoding.slice(0, 40)}'; use gzip or deflate`,
    {
      headers: { 'accept-encoding': 'gzip, deflate', connection: 'close' },
    },
  );
}
