/**
 * Starting worker threads from source (tsx) or from a compiled build alike.
 *
 * Why not just `execArgv: ['--import', 'tsx']`: on Node 20 a worker started with that flag still
 * fails with 'Unknown file extension ".ts"' (the loader hooks --import installs do not reach the
 * worker's entry). So a TypeScript entry is started through a two-line eval bootstrap that
 * registers tsx's ESM hooks inside the worker (tsx/esm/api register()) and then imports the entry.
 */
import { Worker } from 'node:worker_threads';
import type { WorkerData } from './messages.js';

/** The worker entry next to this module: worker.ts under tsx, worker.js in a build. */
export const WORKER_URL = new URL(import.meta.url.endsWith('.ts') ? './worker.ts' : './worker.js', import.meta.url);

/** Source of an eval worker that registers tsx in the worker, then imports the TypeScript entry. */
export function tsxBootstrap(entry: URL): string {
  const api = import.meta.resolve('tsx/esm/api');
  return `import(${JSON.stringify(api)}).then((m) => { m.register(); return import(${JSON.stringify(entry.href)}); });`;
}

/** Starts one worker thread with the given data (TypeScript entries through the tsx bootstrap). */
export function startWorker(data: WorkerData, url: URL = WORKER_URL): Worker {
  if (url.pathname.endsWith('.ts')) return new Worker(tsxBootstrap(url), { eval: true, workerData: data });
  return new Worker(url, { workerData: data });
}
