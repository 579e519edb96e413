/**
 * The file side of the supply chain: listing a version directory (symlinks refused) and reading
 * files in chunks while hashing them, so the event loop never hashes a big file in one go and
 * the bytes kept for loading are exactly the bytes that were hashed (reliability.md S11).
 */
import { createHash } from 'node:crypto';
import { constants, type Stats } from 'node:fs';
import { type FileHandle, lstat, open, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { InferError } from '../core/errors.js';

/** Files a manifest is stored in; never listed in the manifest itself. */
export const MANIFEST_FILE = 'manifest.json';
export const SIGNATURE_FILE = 'manifest.sig';

/** A version directory with more entries than this is refused (it is not a model). */
const MAX_ENTRIES = 100_000;
/** Nesting deeper than this is refused (a model directory is a few levels deep at most). */
const MAX_DEPTH = 16;
/** Bytes read (and hashed) per step: small enough that one step never stalls the event loop. */
export const CHUNK_BYTES = 1 << 20;

/** A supply-chain refusal: IG_ERR_MODEL_LOAD with a reason that names the file, never its contents. */
export function supplyError(detail: string, cause?: unknown): InferError {
  return new InferError('IG_ERR_MODEL_LOAD', detail, cause === undefined ? undefined : { cause });
}

/** A relative path as it appears in a manifest: POSIX separators, printed quoted and short. */
export function quoted(path: string): string {
  const p = path.length > 200 ? `${path.slice(0, 200)}…` : path;
  return `'${p.replace(/[^\x20-\x7e]/g, '?')}'`;
}

/**
 * Every regular file under `dir` (recursively), by POSIX relative path, with its size; the
 * manifest's own two files at the top are left out. Symlinks and special files are refused: a
 * symlink could point anywhere after signing, and a FIFO could block a read forever.
 */
export async function listVersionFiles(dir: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  const walk = async (abs: string, rel: string, depth: number): Promise<void> => {
    if (depth > MAX_DEPTH) throw supplyError(`directory ${quoted(rel)} is nested too deeply`);
    const entries = await readdir(abs, { withFileTypes: true });
    for (const e of entries) {
      const relPath = rel === '' ? e.name : `${rel}/${e.name}`;
      if (depth === 0 && (e.name === MANIFEST_FILE || e.name === SIGNATURE_FILE)) continue;
      const st = await lstat(join(abs, e.name));
      if (st.isSymbolicLink()) throw supplyError(`symlink ${quoted(relPath)} in the version directory is not allowed`);
      if (st.isDirectory()) await walk(join(abs, e.name), relPath, depth + 1);
      else if (st.isFile()) out.set(relPath, st.size);
      else throw supplyError(`${quoted(relPath)} is not a regular file`);
      if (out.size > MAX_ENTRIES) throw supplyError(`the version directory holds more than ${MAX_ENTRIES} files`);
    }
  };
  await walk(dir, '', 0);
  return out;
}

/**
 * Opens a regular file without following a final symlink (O_NOFOLLOW: a file swapped for a link
 * after listing is refused, not followed) and returns the handle with its stats.
 */
async function openRegular(path: string, rel: string): Promise<{ fh: FileHandle; st: Stats }> {
  let fh: FileHandle;
  try {
    fh = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw supplyError(`file removed: ${quoted(rel)}`, err);
    if (code === 'ELOOP') throw supplyError(`symlink ${quoted(rel)} in the version directory is not allowed`, err);
    throw supplyError(`file ${quoted(rel)} cannot be read (${code ?? 'error'})`, err);
  }
  const st = await fh.stat();
  if (!st.isFile()) {
    await fh.close();
    throw supplyError(`${quoted(rel)} is not a regular file`);
  }
  return { fh, st };
}

/** A file read once: its bytes (when kept) and the sha256 of exactly those bytes. */
export interface ReadResult {
  sha256: string;
  size: number;
  /** Present when `keep` was asked: a view over a SharedArrayBuffer (workers share it, no copy). */
  bytes?: Uint8Array;
}

/**
 * Reads a file chunk by chunk, hashing each chunk as it arrives. With `keep`, the chunks are read
 * straight into one SharedArrayBuffer of the file's size, so what is returned is what was hashed;
 * a file that grows or shrinks while being read is refused (it is being rewritten).
 */
export async function readHashed(path: string, rel: string, keep: boolean): Promise<ReadResult> {
  const { fh, st } = await openRegular(path, rel);
  try {
    const size = st.size;
    const hash = createHash('sha256');
    const target = keep ? new Uint8Array(new SharedArrayBuffer(size)) : undefined;
    const scratch = keep ? undefined : new Uint8Array(Math.min(CHUNK_BYTES, Math.max(size, 1)));
    let pos = 0;
    while (pos < size) {
      const want = Math.min(CHUNK_BYTES, size - pos);
      const into = target ?? scratch!;
      const at = target ? pos : 0;
      const { bytesRead } = await fh.read(into, at, want, pos);
      if (bytesRead === 0) throw supplyError(`file ${quoted(rel)} changed while it was being read`);
      hash.update(into.subarray(at, at + bytesRead));
      pos += bytesRead;
    }
    // One more byte means the file grew after its size was taken: the hash would not cover it.
    const { bytesRead: extra } = await fh.read(new Uint8Array(1), 0, 1, size);
    if (extra !== 0) throw supplyError(`file ${quoted(rel)} changed while it was being read`);
    const out: ReadResult = { sha256: hash.digest('hex'), size };
    if (target) out.bytes = target;
    return out;
  } finally {
    await fh.close();
  }
}
