/**
 * Model bytes handed to a worker (ModelBytes, from the supply policy) made ready for onnxruntime,
 * inside the worker thread: the hash of exactly the bytes ORT will get is checked against the
 * verified one, and an encrypted envelope is opened here, in memory (the plaintext never touches
 * disk and never crosses back to the event loop).
 *
 * The envelope format is supply/encrypt.ts's (IGENC1 ‖ key id (8) ‖ IV (12) ‖ ciphertext ‖ tag (16),
 * header as AAD). It is read again here because backends import only core (architecture.md);
 * test/unit/supply/ checks both readers against one writer.
 */
import { createDecipheriv, createHash, type KeyObject } from 'node:crypto';
import type { ModelBytes } from '../../core/index.js';

const MAGIC = Buffer.from('IGENC1', 'latin1');
const KEY_ID_BYTES = 8;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const HEADER_BYTES = MAGIC.length + KEY_ID_BYTES + IV_BYTES;

/** A refusal whose message is client-safe (no path, no bytes). */
export class ModelBytesFailure extends Error {}

function keyIdOf(key: KeyObject): Buffer {
  return createHash('sha256')
    .update('infergate-model-key-id\0')
    .update(key.export())
    .digest()
    .subarray(0, KEY_ID_BYTES);
}

/** Decrypts an IGENC1 envelope; any failure zeroes what was produced and names the cause. */
function open(envelope: Uint8Array, key: KeyObject): Uint8Array {
  const buf = Buffer.from(envelope.buffer, envelope.byteOffset, envelope.byteLength);
  if (buf.length < MAGIC.length || !MAGIC.equals(buf.subarray(0, MAGIC.length)))
    throw new ModelBytesFailure('the model file is not encrypted (no IGENC1 header)');
  if (buf.length < HEADER_BYTES + TAG_BYTES) throw new ModelBytesFailure('the encrypted model file is truncated');
  if (!keyIdOf(key).equals(buf.subarray(MAGIC.length, MAGIC.length + KEY_ID_BYTES)))
    throw new ModelBytesFailure('the model was encrypted with a different key than the configured model key');
  const decipher = createDecipheriv('aes-256-gcm', key, buf.subarray(MAGIC.length + KEY_ID_BYTES, HEADER_BYTES));
  decipher.setAAD(buf.subarray(0, HEADER_BYTES));
  decipher.setAuthTag(buf.subarray(buf.length - TAG_BYTES));
  const body = decipher.update(buf.subarray(HEADER_BYTES, buf.length - TAG_BYTES));
  try {
    const tail = decipher.final();
    return tail.length === 0 ? body : Buffer.concat([body, tail]);
  } catch {
    body.fill(0);
    throw new ModelBytesFailure('the encrypted model file does not authenticate: it was altered or truncated');
  }
}

function checkHash(bytes: Uint8Array, expected: string): void {
  if (createHash('sha256').update(bytes).digest('hex') !== expected)
    throw new ModelBytesFailure('the model bytes handed to the runtime do not match their verified hash');
}

/**
 * The bytes onnxruntime loads, from the handed-over source. A plain model is copied out of the
 * shared buffer into this thread's own memory first, so the hash checked is the hash of exactly
 * what ORT gets; an encrypted one is hashed and decrypted in place (GCM authenticates exactly
 * the ciphertext it decrypts), sparing a copy of the whole model.
 */
export function modelForOrt(source: ModelBytes): Uint8Array {
  if (source.key !== undefined) {
    checkHash(source.bytes, source.sha256);
    return open(source.bytes, source.key as KeyObject);
  }
  const own = new Uint8Array(source.bytes.byteLength);
  own.set(source.bytes);
  checkHash(own, source.sha256);
  return own;
}
