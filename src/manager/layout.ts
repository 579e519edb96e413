/**
 * Registry records → a Triton-layout model directory the repository can load:
 * `<root>/<model>/config.json` and `<root>/<model>/<version>/<files>` (hard links to the
 * verified blobs). A version directory is assembled under a temporary name and renamed, and a
 * `.registry-files` stamp records which files it holds, so an unchanged version is never
 * rewritten (its directory signature stays the same and the repository does not reload it).
 *
 * The model's config is the one stored with the newest of the given versions, with its `name`
 * set to the registry's model name (config files name their model; a registered version may
 * come from a directory with another name). Used by serving (sync.ts) and validation.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { create, toJsonString } from '@bufbuild/protobuf';
import { formatOf, parseModelConfig } from '../config/index.js';
import { ModelConfigSchema } from '../gen/model_config_pb.js';
import type { ArtifactStore } from '../registry/artifacts.js';
import type { VersionRecord } from '../registry/types.js';
import { REGISTRY_STAMP } from '../supply/policy.js';

const STAMP = REGISTRY_STAMP;
const CONFIG_NAMES = ['config.pbtxt', 'config.yaml', 'config.yml', 'config.json'];

/** What a version directory must hold; equal stamps mean equal contents. */
function stampOf(v: VersionRecord): string {
  return JSON.stringify(v.files.map((f) => [f.path, f.sha256]).sort());
}

/** The model config text to serve `versions` with (Triton JSON; '{}' when none was stored: auto-complete). */
export function modelConfigJson(model: string, versions: readonly VersionRecord[]): string {
  const newest = [...versions].sort((a, b) => b.version - a.version).find((v) => v.config);
  const config = newest?.config
    ? parseModelConfig(newest.config.text, formatOf(newest.config.file), `${model}/${newest.config.file}`)
    : create(ModelConfigSchema);
  config.name = model;
  return `${toJsonString(ModelConfigSchema, config, { prettySpaces: 2 })}\n`;
}

/**
 * Makes `<root>/<model>` hold exactly `keep` version directories' worth of the given versions
 * (others already there are left for `prune`), writing only what changed. Throws IG_ERR_CHECKSUM
 * when a blob is missing or altered (that version is not laid out).
 */
export async function layoutModel(
  artifacts: ArtifactStore,
  root: string,
  model: string,
  versions: readonly VersionRecord[],
): Promise<void> {
  const dir = join(root, model);
  await mkdir(dir, { recursive: true });
  await writeIfChanged(join(dir, 'config.json'), modelConfigJson(model, versions));
  for (const name of CONFIG_NAMES) if (name !== 'config.json') await rm(join(dir, name), { force: true });
  for (const v of versions) {
    const final = join(dir, String(v.version));
    const stamp = stampOf(v);
    if ((await readFile(join(final, STAMP), 'utf8').catch(() => undefined)) === stamp) continue;
    const temp = join(dir, `.tmp-${v.version}-${randomBytes(4).toString('hex')}`);
    try {
      await artifacts.materialize(v.files, temp);
      await writeFile(join(temp, STAMP), stamp);
      await rm(final, { recursive: true, force: true });
      await rename(temp, final);
    } finally {
      await rm(temp, { recursive: true, force: true });
    }
  }
}

/** Removes version directories of `model` not in `keep` (after the repository retired them). */
export async function pruneModel(root: string, model: string, keep: readonly number[]): Promise<void> {
  const dir = join(root, model);
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    if (/^[0-9]+$/.test(name) && !keep.includes(Number(name)))
      await rm(join(dir, name), { recursive: true, force: true });
    if (name.startsWith('.tmp-')) await rm(join(dir, name), { recursive: true, force: true });
  }
  if (keep.length === 0) await rm(dir, { recursive: true, force: true });
}

async function writeIfChanged(path: string, text: string): Promise<void> {
  if ((await readFile(path, 'utf8').catch(() => undefined)) === text) return;
  const temp = `${path}.tmp-${randomBytes(4).toString('hex')}`;
  await writeFile(temp, text);
  await rename(temp, path);
}
