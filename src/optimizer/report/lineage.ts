/**
 * Writing a variant as the next version of a Triton-style model directory:
 * `<model_dir>/<next>/model.onnx` plus `lineage.json` (parent path and sha256, transform,
 * parameters, report summary). The version folder is assembled under a temporary name and renamed,
 * so a half-written version never becomes visible to the repository poller.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { ModelProto } from '../../gen/onnx-ml_pb.js';
import { saveModel, writeFileAtomic } from '../model/io.js';

export interface Lineage {
  parent: { path: string; sha256: string };
  transform: string;
  parameters: Record<string, unknown>;
  created: string;
  tool: string;
  summary?: Record<string, unknown>;
}

/** sha256 of a file, hex. */
export function sha256File(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

/** The next numeric version folder name in a model directory (1 when there is none). */
export function nextVersion(modelDir: string): number {
  if (!existsSync(modelDir)) return 1;
  const versions = readdirSync(modelDir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && /^\d+$/.test(d.name))
    .map((d) => Number(d.name));
  return versions.length ? Math.max(...versions) + 1 : 1;
}

/** Save `model` as version `<next>` of `modelDir` with its lineage; returns the model path. */
export function writeVersion(
  modelDir: string,
  model: ModelProto,
  lineage: Omit<Lineage, 'created' | 'tool'>,
  sourceDir?: string,
): string {
  const version = nextVersion(modelDir);
  const final = join(resolve(modelDir), String(version));
  const tmp = join(resolve(modelDir), `.${version}.tmp-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  try {
    saveModel(model, join(tmp, 'model.onnx'), sourceDir ? { sourceDir } : {});
    const full: Lineage = { ...lineage, created: new Date().toISOString(), tool: 'infergate optimize' };
    writeFileAtomic(join(tmp, 'lineage.json'), `${JSON.stringify(full, null, 2)}\n`);
    renameSync(tmp, final);
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
  return join(final, 'model.onnx');
}
