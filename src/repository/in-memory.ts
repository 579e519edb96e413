import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { isContainedRelativePath } from '../config/warmup.js';
import { loadError } from '../config/errors.js';
import { invalidArg } from '../core/errors.js';

/** What the file system's codes mean for a load call's file names. */
const FS_REASONS: Record<string, string> = {
  ENAMETOOLONG: 'a file name is too long',
  ENOTDIR: 'a path uses a file as a folder',
  EISDIR: 'a path names a folder as a file',
  EEXIST: 'a path names a file as a folder',
  ENOSPC: 'no space left',
};

/** A private copy of a model directory supplied through a load call's `file:` parameters. */
export interface InMemoryModel {
  /** The temp directory to remove once nothing uses it. */
  tempDir: string;
  /** `<tempDir>/<model>`, laid out like a repository model directory. */
  modelDir: string;
}

/** Load-call file keys as relative paths (a Triton-style 'file:' prefix is dropped). */
function relativePaths(files: Record<string, Uint8Array>) {
  return Object.entries(files).map(([key, bytes]) => [key.replace(/^file:/, ''), bytes] as const);
}

/** Rejects any file path that is absolute or climbs out with '..' (IG_ERR_INVALID_ARG). */
export function checkInMemoryPaths(files: Record<string, Uint8Array>): void {
  for (const [path] of relativePaths(files))
    if (!isContainedRelativePath(path)) throw invalidArg(`invalid file path '${path}' in the load parameters`);
}

/** Checks every path (relative, no '..'), then writes the files into a fresh private temp directory. */
export async function writeInMemoryModel(model: string, files: Record<string, Uint8Array>): Promise<InMemoryModel> {
  checkInMemoryPaths(files);
  const entries = relativePaths(files);
  const tempDir = await mkdtemp(join(tmpdir(), 'infergate-model-'));
  const modelDir = join(tempDir, model);
  try {
    for (const [path, bytes] of entries) {
      const target = join(modelDir, path);
      await mkdir(dirname(target), { recursive: true });
      await writeFile(target, bytes);
    }
  } catch (err) {
    await rm(tempDir, { recursive: true, force: true });
    // The file system's refusal of a name (too long, a file where a folder must go…) is the load's
    // failure, answered like one (400), never an internal error; the temp path stays private.
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    throw loadError(model, `a file of the load parameters cannot be written (${FS_REASONS[code] ?? code})`, err);
  }
  return { tempDir, modelDir };
}

/** Removes a temp model directory; failures are ignored (it is in the OS temp area). */
export async function removeInMemoryModel(tempDir: string): Promise<void> {
  await rm(tempDir, { recursive: true, force: true }).catch(() => undefined);
}
