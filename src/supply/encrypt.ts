/**
 * Model encryption at rest: AES-256-GCM with an envelope key (32 bytes, base64, from a file or the
 * INFERGATE_MODEL_KEY environment variable). One file, one GCM message:
 *
 *   offset  0  "IGENC1"        magic (6 bytes)
 *   offset  6  key id          first 8 bytes of sha256("infergate-model-key-id\0" ‖ key)
 *   offset 14  IV              12 random bytes
 *   offset 26  ciphertext      as long as the model
 *   last 16    GCM tag         authenticates the header (as AAD) and the ciphertext
 *
 * The key id lets a refusal say "encrypted with a different key" instead of the bare "does not
 * authenticate" a GCM failure gives; a failure with the right key id means the file was altered.
 * The server decrypts inside the model's worker thread (backend/ort/worker-model.ts reads the
 * same format), from the bytes it read, and never writes the plaintext anywhere.
 */
import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createSecretKey,
  type KeyObject,
  randomBytes,
} from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, readFile, rename, rm } from 'node:fs/promises';
import { InferError } from '../core/errors.js';

export const ENCRYPTED_MAGIC = Buffer.from('IGENC1', 'latin1');
const KEY_ID_BYTES = 8;
const IV_BYTES = 12;
const TAG_BYTES = 16;
/** Magic + key id + IV: the authenticated header before the ciphertext. */
export const ENCRYPTED_HEADER_BYTES = ENCRYPTED_MAGIC.length + KEY_ID_BYTES + IV_BYTES;
/** Environment variable holding the model key (base64) when no key file is given. */
export const MODEL_KEY_ENV = 'INFERGATE_MODEL_KEY';

function keyError(detail: string): InferError {
  return new InferError('IG_ERR_MODEL_LOAD', detail);
}

/** The key id written into (and checked against) an encrypted file's header. */
export function modelKeyId(key: KeyObject): Buffer {
  return createHash('sha256')
    .update('infergate-model-key-id\0')
    .update(key.export())
    .digest()
    .subarray(0, KEY_ID_BYTES);
}

/** True when the bytes start with the IGENC1 magic. */
export function isEncrypted(bytes: Uint8Array): boolean {
  return bytes.length >= ENCRYPTED_MAGIC.length && ENCRYPTED_MAGIC.equals(bytes.subarray(0, ENCRYPTED_MAGIC.length));
}

/** The key id in an encrypted file's header (hex), or undefined when the bytes are not one. */
export function headerKeyId(bytes: Uint8Array): string | undefined {
  if (!isEncrypted(bytes) || bytes.length < ENCRYPTED_HEADER_BYTES + TAG_BYTES) return undefined;
  return Buffer.from(bytes.subarray(ENCRYPTED_MAGIC.length, ENCRYPTED_MAGIC.length + KEY_ID_BYTES)).toString('hex');
}

/** A model key from its base64 text; refuses anything that is not exactly 32 bytes. */
export function parseModelKey(text: string, from: string): KeyObject {
  const b64 = text.trim();
  const raw = Buffer.from(b64, 'base64');
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64) || raw.length !== 32)
    throw new Error(`${from} must hold a base64 AES-256 key (32 bytes)`);
  return createSecretKey(raw);
}

/**
 * The model key from a file (preferred), `INFERGATE_MODEL_KEY_FILE` (a path: the secrets-as-files
 * convention of container platforms) or `INFERGATE_MODEL_KEY`; undefined when none is set.
 */
export async function loadModelKey(
  file?: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<KeyObject | undefined> {
  const path = file ?? (env[`${MODEL_KEY_ENV}_FILE`] || undefined);
  if (path !== undefined) return parseModelKey(await readFile(path, 'utf8'), `model key file '${path}'`);
  const value = env[MODEL_KEY_ENV];
  return value === undefined || value === '' ? undefined : parseModelKey(value, MODEL_KEY_ENV);
}

/** A fresh random model key as base64 (what `infergate keygen --aes` writes). */
export function generateModelKey(): string {
  return randomBytes(32).toString('base64');
}

/**
 * Encrypts `inPath` into `outPath`, streaming (the model is never held whole in memory). Written
 * to a temporary name and renamed, so a half-written file never carries the final name.
 */
export async function encryptFile(inPath: string, outPath: string, key: KeyObject): Promise<void> {
  const head = Buffer.alloc(ENCRYPTED_MAGIC.length);
  const fh = await open(inPath, 'r');
  await fh.read(head, 0, head.length, 0).finally(() => fh.close());
  if (isEncrypted(head)) throw new Error(`'${inPath}' is already encrypted`);
  const iv = randomBytes(IV_BYTES);
  const header = Buffer.concat([ENCRYPTED_MAGIC, modelKeyId(key), iv]);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(header);
  const tmp = `${outPath}.tmp-${process.pid}`;
  const out = await open(tmp, 'wx');
  try {
    await out.write(header);
    for await (const chunk of createReadStream(inPath, { highWaterMark: 1 << 20 })) {
      await out.write(cipher.update(chunk as Buffer));
    }
    await out.write(cipher.final());
    await out.write(cipher.getAuthTag());
    await out.close();
    await rename(tmp, outPath);
  } catch (err) {
    await out.close().catch(() => undefined);
    await rm(tmp, { force: true });
    throw err;
  }
}

/**
 * Decrypts an IGENC1 buffer in memory. Throws an IG_ERR_MODEL_LOAD whose message says which of
 * "not encrypted", "different key" or "altered" it is; never the bytes, never a stack.
 */
export function decrypt(buffer: Uint8Array, key: KeyObject): Buffer {
  if (!isEncrypted(buffer)) throw keyError('the model file is not encrypted (no IGENC1 header)');
  if (buffer.length < ENCRYPTED_HEADER_BYTES + TAG_BYTES) throw keyError('the encrypted model file is truncated');
  const idAt = ENCRYPTED_MAGIC.length;
  if (!modelKeyId(key).equals(buffer.subarray(idAt, idAt + KEY_ID_BYTES)))
    throw keyError('the model was encrypted with a different key than the configured model key');
  const iv = buffer.subarray(idAt + KEY_ID_BYTES, ENCRYPTED_HEADER_BYTES);
  const decipher = createDecipheriv('aes-256-gcm', key, iv);
  decipher.setAAD(buffer.subarray(0, ENCRYPTED_HEADER_BYTES));
  decipher.setAuthTag(buffer.subarray(buffer.length - TAG_BYTES));
  const body = decipher.update(buffer.subarray(ENCRYPTED_HEADER_BYTES, buffer.length - TAG_BYTES));
  try {
    return Buffer.concat([body, decipher.final()]);
  } catch {
    // Overwrite what was produced before the tag failed: unauthenticated plaintext is not kept.
    body.fill(0);
    throw keyError('the encrypted model file does not authenticate: it was altered or truncated');
  }
}
