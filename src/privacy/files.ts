/**
 * The payload log on disk: `<dir>/<model>/<yyyy-mm-dd>.jsonl` (UTC days), folders 0700 and files
 * 0600 (they hold request data). Appends, the erasure of a subject's lines (each file rewritten to
 * a temporary file and renamed over the original, so a reader or a crash sees the old file or the
 * new one, never half of one) and the retention sweep. The caller serializes these (payload-log.ts).
 */
import { createReadStream } from 'node:fs';
import { appendFile, mkdir, open, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

const DAY_FILE = /^(\d{4}-\d{2}-\d{2})\.jsonl$/;
/** eraseLines' temporary file; one left behind was cut short by a crash (the original is intact). */
const ERASING = /^\d{4}-\d{2}-\d{2}\.jsonl\.erasing-\d+$/;
const DAY_MS = 86_400_000;

/** A model's folder name: the name itself when it is a plain file name, else percent-encoded. */
export function modelFolder(model: string): string {
  return /^[A-Za-z0-9_-][A-Za-z0-9._-]*$/.test(model) ? model : encodeURIComponent(model).replace(/\./g, '%2E');
}

/** The model a folder holds (modelFolder's inverse). */
export function folderModel(folder: string): string {
  try {
    return decodeURIComponent(folder);
  } catch {
    return folder;
  }
}

/** `<model folder>/<yyyy-mm-dd>.jsonl` of a record answered at `atMs`. */
export function dayFile(model: string, atMs: number): string {
  return join(modelFolder(model), `${new Date(atMs).toISOString().slice(0, 10)}.jsonl`);
}

/** Appends `text` to `<dir>/<file>`, creating the model folder when needed. */
export async function appendLines(dir: string, file: string, text: string): Promise<void> {
  try {
    await appendFile(join(dir, file), text, { mode: 0o600 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    await mkdir(join(dir, file, '..'), { recursive: true, mode: 0o700 });
    await appendFile(join(dir, file), text, { mode: 0o600 });
  }
}

/** Every day file under `dir`, as `{ model, day, path }`; `leftovers` gets eraseLines' stale temporaries. */
export async function dayFiles(
  dir: string,
  leftovers?: string[],
): Promise<Array<{ model: string; day: string; path: string }>> {
  const out: Array<{ model: string; day: string; path: string }> = [];
  for (const folder of await entries(dir)) {
    if (!folder.isDirectory()) continue;
    for (const f of await entries(join(dir, folder.name))) {
      if (!f.isFile()) continue;
      const m = DAY_FILE.exec(f.name);
      if (m) out.push({ model: folderModel(folder.name), day: m[1]!, path: join(dir, folder.name, f.name) });
      else if (ERASING.test(f.name)) leftovers?.push(join(dir, folder.name, f.name));
    }
  }
  return out;
}

async function entries(dir: string) {
  try {
    return await readdir(dir, { withFileTypes: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

/**
 * Removes every line starting with `prefix` from the file; returns how many. The file is read
 * once to look (streamed, never whole in memory) and rewritten only when it holds such a line.
 */
export async function eraseLines(path: string, prefix: string): Promise<number> {
  let found = 0;
  for await (const line of lines(path)) if (line.startsWith(prefix)) found++;
  if (found === 0) return 0;
  const temp = `${path}.erasing-${process.pid}`;
  const out = await open(temp, 'w', 0o600);
  let removed = 0;
  try {
    let chunk: string[] = [];
    let size = 0;
    for await (const line of lines(path)) {
      if (line.startsWith(prefix)) {
        removed++;
        continue;
      }
      if (line === '') continue;
      chunk.push(line);
      size += line.length;
      if (size >= 1 << 16) {
        await out.write(`${chunk.join('\n')}\n`);
        chunk = [];
        size = 0;
      }
    }
    if (chunk.length > 0) await out.write(`${chunk.join('\n')}\n`);
    // On disk before it replaces the original: a crash leaves the old file or the new one.
    await out.sync();
  } catch (err) {
    await out.close();
    await rm(temp, { force: true });
    throw err;
  }
  await out.close();
  await rename(temp, path);
  return removed;
}

function lines(path: string): AsyncIterable<string> {
  return createInterface({ input: createReadStream(path, { encoding: 'utf8' }), crlfDelay: Number.POSITIVE_INFINITY });
}

/**
 * Deletes the day files whose whole day is older than their model's retention; returns the paths
 * removed. `retentionDays(model)` says how long each model's records are kept.
 */
export async function sweepDayFiles(
  dir: string,
  nowMs: number,
  retentionDays: (model: string) => number,
): Promise<string[]> {
  const removed: string[] = [];
  const leftovers: string[] = [];
  for (const f of await dayFiles(dir, leftovers)) {
    const dayEnd = Date.parse(`${f.day}T00:00:00Z`) + DAY_MS;
    if (Number.isNaN(dayEnd) || dayEnd + retentionDays(f.model) * DAY_MS > nowMs) continue;
    await rm(f.path, { force: true });
    removed.push(f.path);
  }
  // Copies of request data that no retention would ever reach; sweeps never run during an erasure.
  for (const path of leftovers) await rm(path, { force: true });
  return removed;
}
