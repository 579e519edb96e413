/**
 * The artifact store: every file of every version, content-addressed by sha256 under
 * `<dir>/blobs/sha256/<2 hex>/<sha256>`. Files are staged under `<dir>/tmp/` while they are
 * hashed, and renamed into place only once their checksum is known (and matches what was
 * declared), so a half-written file never has a name a version could point to. Blobs are
 * immutable and shared between versions; several replicas may share the directory.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { copyFile, link, mkdir, readdir, rename, rm, stat, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { InferError } from '../core/index.js';
import { checkFilePath, quoteName } from './names.js';
import type { FileEntry } from './types.js';

/** A file hashed into the staging area, not yet a blob. */
export interface StagedFile {
  path: string;
  sha256: string;
  size: number;
  temp: string;
}

/** Bytes to stage: a stream factory, so a failed attempt can be retried by the caller. */
export type ByteSource = AsyncIterable<Uint8Array> | NodeJS.ReadableStream;

const SHA256 = /^[0-9a-f]{64}$/;
const STALE_TMP_MS = 60 * 60 * 1000;

export class ArtifactStore {
  readonly dir: string;

  constructor(dir: string) {
    this.dir = dir;
  }

  blobPath(sha256: string): string {
    if (!SHA256.test(sha256)) throw new InferError('IG_ERR_INVALID_ARG', 'not a sha256 checksum');
    return join(this.dir, 'blobs', 'sha256', sha256.slice(0, 2), sha256);
  }

  async has(sha256: string): Promise<boolean> {
    return (await stat(this.blobPath(sha256)).catch(() => undefined))?.isFile() === true;
  }

  /**
   * Streams `bytes` into the staging area while hashing. Refuses more than `maxBytes`, and a
   * result that differs from `expected` (IG_ERR_CHECKSUM naming the file); the partial file is removed.
   */
  async stage(
    path: string,
    bytes: ByteSource,
    opts: { maxBytes?: number; expected?: { sha256?: string; size?: number }; onBytes?: (n: number) => void } = {},
  ): Promise<StagedFile> {
    checkFilePath(path);
    await mkdir(join(this.dir, 'tmp'), { recursive: true });
    const temp = join(this.dir, 'tmp', `${randomBytes(8).toString('hex')}.part`);
    const hash = createHash('sha256');
    let size = 0;
    const max = opts.maxBytes ?? Number.POSITIVE_INFINITY;
    const meter = new Transform({
      transform(chunk: Buffer, _enc, done) {
        size += chunk.length;
        if (size > max) return done(tooLarge(path, max));
        hash.update(chunk);
        opts.onBytes?.(chunk.length);
        done(null, chunk);
      },
    });
    try {
      await pipeline(bytes as AsyncIterable<Uint8Array>, meter, createWriteStream(temp, { flags: 'wx' }));
    } catch (err) {
      await unlink(temp).catch(() => undefined);
      throw err;
    }
    const staged = { path, sha256: hash.digest('hex'), size, temp };
    const want = opts.expected;
    if (
      (want?.sha256 && want.sha256.toLowerCase() !== staged.sha256) ||
      (want?.size !== undefined && want.size !== size)
    ) {
      await unlink(temp).catch(() => undefined);
      throw new InferError(
        'IG_ERR_CHECKSUM',
        `file ${quoteName(path)} does not match its declared checksum (expected ${want?.sha256 ?? '-'} / ${want?.size ?? '-'} bytes, got ${staged.sha256} / ${size} bytes); nothing was registered`,
      );
    }
    return staged;
  }

  /** Moves staged files into the blob tree (an existing blob with the same hash is kept). */
  async commit(files: readonly StagedFile[]): Promise<FileEntry[]> {
    for (const f of files) {
      const dest = this.blobPath(f.sha256);
      if (await this.has(f.sha256)) {
        await unlink(f.temp).catch(() => undefined);
        continue;
      }
      await mkdir(dirname(dest), { recursive: true });
      await rename(f.temp, dest);
    }
    return files.map((f) => ({ path: f.path, sha256: f.sha256, size: f.size }));
  }

  async discard(files: readonly StagedFile[]): Promise<void> {
    await Promise.all(files.map((f) => unlink(f.temp).catch(() => undefined)));
  }

  /** Re-hashes a blob; false when it is missing, truncated or altered. */
  async verify(file: FileEntry): Promise<boolean> {
    const path = this.blobPath(file.sha256);
    const st = await stat(path).catch(() => undefined);
    if (!st?.isFile() || st.size !== file.size) return false;
    const hash = createHash('sha256');
    await pipeline(createReadStream(path), hash);
    return hash.digest('hex') === file.sha256;
  }

  /**
   * Lays out `files` under `dest` (hard links to the blobs, copies across file systems) after
   * verifying each checksum. IG_ERR_CHECKSUM names the first file that is missing or altered.
   */
  async materialize(files: readonly FileEntry[], dest: string): Promise<void> {
    for (const f of files) {
      if (!(await this.verify(f)))
        throw new InferError(
          'IG_ERR_CHECKSUM',
          `artifact ${quoteName(f.path)} (sha256 ${f.sha256}) is missing or does not match its checksum`,
        );
    }
    for (const f of files) {
      const target = join(dest, ...checkFilePath(f.path).split('/'));
      await mkdir(dirname(target), { recursive: true });
      await rm(target, { force: true });
      await link(this.blobPath(f.sha256), target).catch(() => copyFile(this.blobPath(f.sha256), target));
    }
  }

  /** Removes staging files older than an hour (a crashed push); newer ones may be in progress. */
  async sweepStaging(now = Date.now()): Promise<number> {
    const tmp = join(this.dir, 'tmp');
    let removed = 0;
    for (const name of await readdir(tmp).catch(() => [] as string[])) {
      const p = join(tmp, name);
      const st = await stat(p).catch(() => undefined);
      if (st && now - st.mtimeMs > STALE_TMP_MS) {
        await rm(p, { force: true, recursive: true });
        removed++;
      }
    }
    return removed;
  }
}

function tooLarge(path: string, max: number): InferError {
  return new InferError('IG_ERR_PAYLOAD_TOO_LARGE', `file ${quoteName(path)} is larger than the limit of ${max} bytes`);
}
