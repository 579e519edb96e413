/**
 * Starting worker threads from source (tsx) or from a compiled build alike, cheaply.
 *
 * Running from TypeScript sources, every new thread used to register tsx's loader and resolve and
 * transform the worker's module graph through it: about half of a small model's worker start
 * (measured 650 → 350 ms for the `simple` model, session included) and tens of MB per thread. So
 * the worker entry is bundled once per process with esbuild (already in the tree for tsx) into one
 * plain JavaScript file; onnxruntime-node stays an import by absolute path, so the bundle may live
 * in a temporary folder. A build ships worker.js and needs none of this.
 *
 * Fallback, when bundling fails: a two-line eval bootstrap that registers tsx's ESM hooks inside the
 * worker and imports the TypeScript entry (on Node 20, `execArgv: ['--import', 'tsx']` still fails
 * with 'Unknown file extension ".ts"': --import's hooks do not reach a worker's entry).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { WorkerData } from './messages.js';

const FROM_SOURCE = import.meta.url.endsWith('.ts');

/** The worker entry next to this module: worker.ts under tsx, worker.js in a build. */
export const WORKER_URL = new URL(FROM_SOURCE ? './worker.ts' : './worker.js', import.meta.url);

/** Source of an eval worker that registers tsx in the worker, then imports the TypeScript entry. */
export function tsxBootstrap(entry: URL): string {
  const api = import.meta.resolve('tsx/esm/api');
  return `import(${JSON.stringify(api)}).then((m) => { m.register(); return import(${JSON.stringify(entry.href)}); });`;
}

/** Bundles the TypeScript worker entry into one JavaScript file in a private temporary folder. */
async function bundle(entry: URL): Promise<URL> {
  const { build } = await import('esbuild');
  const ort = fileURLToPath(import.meta.resolve('onnxruntime-node'));
  const result = await build({
    entryPoints: [fileURLToPath(entry)],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    write: false,
    logLevel: 'silent',
    plugins: [
      {
        name: 'onnxruntime-by-path',
        setup(b) {
          b.onResolve({ filter: /^onnxruntime-node$/ }, () => ({ path: ort, external: true }));
        },
      },
    ],
  });
  const dir = mkdtempSync(join(tmpdir(), 'infergate-worker-'));
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'worker.mjs');
  writeFileSync(file, result.outputFiles[0]!.contents);
  return pathToFileURL(file);
}

const entries = new Map<string, Promise<URL>>();

/**
 * The URL a worker should start from: `entry` itself in a build, else its bundle (built on first
 * use, once per process), else `entry` (started through the tsx bootstrap) when bundling fails.
 */
export function workerEntry(entry: URL = WORKER_URL): Promise<URL> {
  if (!entry.pathname.endsWith('.ts')) return Promise.resolve(entry);
  let p = entries.get(entry.href);
  if (p === undefined) {
    p = bundle(entry).catch(() => entry);
    entries.set(entry.href, p);
  }
  return p;
}

/** Starts one worker thread with the given data (TypeScript entries through the tsx bootstrap). */
export function startWorker(data: WorkerData, url: URL = WORKER_URL): Worker {
  if (url.pathname.endsWith('.ts')) return new Worker(tsxBootstrap(url), { eval: true, workerData: data });
  return new Worker(url, { workerData: data });
}
