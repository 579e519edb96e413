/**
 * A version from the local file system. The path may be
 * - an `.onnx` file: the version is that one file, stored as `model.onnx`;
 * - a version directory (`…/3/`): its files, recursively;
 * - a Triton model directory (`…/digits/` with `config.pbtxt` and numbered version directories):
 *   the highest version, or `fromVersion`, with the model's config.
 * An optimizer `lineage.json` in the version directory becomes the version's lineage and is not
 * stored as a file. Symbolic links are not followed (a version is what is really there).
 */
import { createReadStream } from 'node:fs';
import { lstat, readdir, readFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { InferError, invalidArg } from '../../core/index.js';
import { isSafeFilePath, quoteName } from '../names.js';
import type { Lineage, StoredConfig } from '../types.js';
import type { ResolvedSource, SourceFile } from './types.js';

const CONFIG_FILES = ['config.pbtxt', 'config.yaml', 'config.yml', 'config.json'];
const MAX_FILES = 10_000;

export async function resolveLocal(path: string, fromVersion?: number): Promise<ResolvedSource> {
  const abs = resolve(path);
  const st = await lstat(abs).catch(() => undefined);
  if (!st) throw new InferError('IG_ERR_NOT_FOUND', `source ${quoteName(path)} does not exist`);
  const uri = pathToFileURL(abs).href;
  if (st.isFile()) {
    if (!abs.endsWith('.onnx')) throw invalidArg(`source ${quoteName(path)} is a file but not an .onnx model`);
    return { uri, format: 'onnx', files: [fileOf(abs, 'model.onnx', st.size)], suggestedName: stem(abs) };
  }
  if (!st.isDirectory()) throw invalidArg(`source ${quoteName(path)} is neither a file nor a directory`);
  const versions = (await readdir(abs)).filter((n) => /^[1-9][0-9]*$/.test(n)).map(Number);
  const config = await readConfig(abs);
  if (versions.length > 0 || config) {
    const v = fromVersion ?? Math.max(...versions);
    if (!versions.includes(v))
      throw new InferError('IG_ERR_NOT_FOUND', `model directory ${quoteName(path)} has no version ${v}`);
    return { ...(await versionDir(join(abs, String(v)), uri)), config, suggestedName: basename(abs) };
  }
  return { ...(await versionDir(abs, uri)), suggestedName: basename(resolve(abs, '..')) };
}

async function versionDir(dir: string, uri: string): Promise<ResolvedSource> {
  const files: SourceFile[] = [];
  let lineage: Lineage | undefined;
  const walk = async (d: string, prefix: string) => {
    for (const name of (await readdir(d)).sort()) {
      const p = join(d, name);
      const rel = prefix ? `${prefix}/${name}` : name;
      const st = await lstat(p);
      if (st.isSymbolicLink()) throw invalidArg(`source file ${quoteName(rel)} is a symbolic link; copy the real file`);
      if (st.isDirectory()) await walk(p, rel);
      else if (rel === 'lineage.json') lineage = readLineage(await readFile(p, 'utf8'));
      else if (st.isFile()) {
        if (!isSafeFilePath(rel)) throw invalidArg(`source file name ${quoteName(rel)} is not a plain relative path`);
        if (files.length >= MAX_FILES) throw invalidArg(`source has more than ${MAX_FILES} files`);
        files.push(fileOf(p, rel, st.size));
      }
    }
  };
  await walk(dir, '');
  if (!files.some((f) => f.path.endsWith('.onnx')))
    throw invalidArg(`source ${quoteName(basename(dir))} holds no .onnx model file`);
  return { uri, format: 'onnx', files, lineage };
}

function fileOf(abs: string, path: string, size: number): SourceFile {
  return { path, size, open: async () => createReadStream(abs) };
}

async function readConfig(dir: string): Promise<StoredConfig | undefined> {
  for (const file of CONFIG_FILES) {
    const text = await readFile(join(dir, file), 'utf8').catch(() => undefined);
    if (text !== undefined) return { file, text };
  }
  return undefined;
}

/** The optimizer's lineage.json (optimizer/report/lineage.ts): parent path + sha256, transform, parameters. */
function readLineage(text: string): Lineage {
  let doc: Record<string, unknown>;
  try {
    doc = JSON.parse(text);
  } catch {
    throw invalidArg('lineage.json is not valid JSON');
  }
  const out: Lineage = {};
  const parent = doc.parent as { path?: unknown; sha256?: unknown } | undefined;
  if (parent && typeof parent.path === 'string')
    out.parent = { uri: pathToFileURL(resolve(parent.path)).href, sha256: String(parent.sha256 ?? '') || undefined };
  if (typeof doc.transform === 'string') out.transform = doc.transform;
  if (doc.parameters && typeof doc.parameters === 'object') out.parameters = doc.parameters as Record<string, unknown>;
  if (doc.summary && typeof doc.summary === 'object') out.summary = doc.summary as Record<string, unknown>;
  return out;
}

function stem(path: string): string {
  return basename(path).replace(/\.onnx$/, '');
}
