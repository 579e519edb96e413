/** Writing model files to disk. */
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { GraphBuilder } from './graph-builder.js';
import { buildModel, type ModelOptions } from './model.js';

/**
 * Writes a model file, creating parent directories. The bytes go to a temporary file first and
 * are renamed into place, so a server scanning the folder never loads a half-written model.
 */
export async function writeModel(path: string, model: GraphBuilder | Uint8Array, opts?: ModelOptions): Promise<void> {
  const bytes = model instanceof Uint8Array ? model : buildModel(model, opts);
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, bytes);
  await rename(tmp, path);
}
