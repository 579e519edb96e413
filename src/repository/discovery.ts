import { readdirSync, statSync } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { isSafeModelName, parseVersionDir } from './names.js';

/** Dot-directories (.git, .cache…) are never models. */
function candidate(name: string): boolean {
  return !name.startsWith('.') && isSafeModelName(name);
}

/** Model directory names directly under the repository root, sorted. */
export async function listModelDirs(root: string): Promise<string[]> {
  const out: string[] = [];
  for (const name of await readdir(root)) {
    if (!candidate(name)) continue;
    const st = await stat(join(root, name)).catch(() => undefined);
    if (st?.isDirectory()) out.push(name);
  }
  return out.sort();
}

/** Synchronous listing for the (synchronous) repository index in explicit mode. */
export function listModelDirsSync(root: string): string[] {
  try {
    return readdirSync(root)
      .filter((name) => candidate(name) && statSync(join(root, name), { throwIfNoEntry: false })?.isDirectory())
      .sort();
  } catch {
    return [];
  }
}

/** Version numbers of a model directory (sub-directories named as positive integers). */
export async function listVersions(modelDir: string): Promise<number[]> {
  const entries = await readdir(modelDir, { withFileTypes: true }).catch(() => []);
  const out: number[] = [];
  for (const e of entries) {
    const v = parseVersionDir(e.name);
    if (v === undefined) continue;
    const st = e.isDirectory() ? e : await stat(join(modelDir, e.name)).catch(() => undefined);
    if (st?.isDirectory()) out.push(v);
  }
  return out.sort((a, b) => a - b);
}

/** `<v>/<file>` when it is a file, or `<v>/<file>/<file>` when the model is a directory; else undefined. */
export async function resolveModelFile(modelDir: string, version: number, file: string): Promise<string | undefined> {
  const direct = join(modelDir, String(version), file);
  const st = await stat(direct).catch(() => undefined);
  if (st?.isFile()) return direct;
  if (st?.isDirectory()) {
    const inner = join(direct, file);
    if ((await stat(inner).catch(() => undefined))?.isFile()) return inner;
  }
  return undefined;
}

/** Size, mtime and inode of a file: equal stamps mean the same file, unchanged (undefined: unreadable). */
export async function fileStamp(path: string): Promise<string | undefined> {
  const st = await stat(path).catch(() => undefined);
  return st && `${st.size}:${st.mtimeMs}:${st.ino}`;
}

/** What a poll compares: the model directory's own files, and each version directory's files. */
export interface ModelSnapshot {
  root: string;
  versions: Map<number, string>;
}

async function filesSignature(dir: string, depth: number): Promise<string> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  const parts: string[] = [];
  for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    const p = join(dir, e.name);
    const st = await stat(p).catch(() => undefined);
    if (!st) continue;
    if (st.isFile()) parts.push(`${e.name}:${st.size}:${st.mtimeMs}:${st.ino}`);
    else if (st.isDirectory() && depth > 0) parts.push(`${e.name}/[${await filesSignature(p, depth - 1)}]`);
  }
  return parts.join(',');
}

/** Snapshot of a model directory for change detection (sizes, mtimes, inodes; no content reads). */
export async function snapshotModel(modelDir: string): Promise<ModelSnapshot> {
  const versions = new Map<number, string>();
  for (const v of await listVersions(modelDir)) versions.set(v, await filesSignature(join(modelDir, String(v)), 2));
  const rootFiles = await filesSignature(modelDir, 0);
  const warmup = await filesSignature(join(modelDir, 'warmup'), 1);
  return { root: `${rootFiles}|${warmup}`, versions };
}

/** Same files as at the last look (poll mode's change detection). */
export function sameSnapshot(a: ModelSnapshot, b: ModelSnapshot): boolean {
  if (a.root !== b.root || a.versions.size !== b.versions.size) return false;
  for (const [v, sig] of a.versions) if (b.versions.get(v) !== sig) return false;
  return true;
}
