/**
 * Running the generator in worker threads: the load is split evenly (concurrency, or rate — the
 * sum of independent Poisson streams is again Poisson) and the measurements merged. Used when
 * one event loop cannot send fast enough, or to keep the generator off the caller's loop.
 */
import { Worker } from 'node:worker_threads';
import { Recorder, type RecorderData } from './result.js';
import { type LoadOptions, type LoadResult, type Progress, type RawRun, resultOf } from './run.js';
import type { TargetSpec } from './target.js';

/** What the main thread sends to a generator thread. */
export interface ThreadJob {
  target: TargetSpec;
  load: Omit<LoadOptions, 'onProgress'>;
}

/** What a generator thread posts: progress while running, then its raw measurements. */
export type ThreadMessage =
  | { type: 'progress'; progress: Progress }
  | { type: 'done'; recorders: Array<[string, RecorderData]>; windowMs: number }
  | { type: 'error'; message: string };

const ENTRY = new URL(import.meta.url.endsWith('.ts') ? './thread-entry.ts' : './thread-entry.js', import.meta.url);

/** Starts the entry; a TypeScript entry needs tsx's hooks registered inside the new thread first. */
function spawn(job: ThreadJob): Worker {
  if (!ENTRY.pathname.endsWith('.ts')) return new Worker(ENTRY, { workerData: job });
  const tsx = import.meta.resolve('tsx/esm/api');
  const src = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(ENTRY.href)}); });`;
  return new Worker(src, { eval: true, workerData: job });
}

/** The share of the load thread i of n offers. */
export function splitLoad(load: ThreadJob['load'], i: number, n: number): ThreadJob['load'] {
  const mode = load.mode;
  const share = (total: number) => Math.floor(total / n) + (i < total % n ? 1 : 0);
  const requests = load.requests === undefined ? undefined : share(load.requests);
  if (mode.kind === 'closed')
    return { ...load, requests, mode: { kind: 'closed', concurrency: Math.max(1, share(mode.concurrency)) } };
  const phases = mode.profile.phases.map((p) => ({ ...p, rate: p.rate / n }));
  const maxInFlight = Math.ceil((mode.maxInFlight ?? 4096) / n);
  return { ...load, requests, mode: { ...mode, profile: { phases }, seed: (mode.seed ?? 7) + i * 7919, maxInFlight } };
}

/** Runs one load split over `threads` generator threads and merges what they measured. */
export async function runLoadInThreads(target: TargetSpec, opts: LoadOptions, threads: number): Promise<LoadResult> {
  const { onProgress, ...load } = opts;
  const latest: Progress[] = [];
  let cpu0 = process.cpuUsage();
  const cpuTimer = setTimeout(() => {
    cpu0 = process.cpuUsage();
  }, load.warmupMs);
  const runs = Array.from({ length: threads }, (_, i) =>
    runThread({ target: { ...target, seed: (target.seed ?? 1) + i }, load: splitLoad(load, i, threads) }, (p) => {
      latest[i] = p;
      if (onProgress) onProgress(sumProgress(latest));
    }),
  );
  try {
    const parts = await Promise.all(runs);
    // process.cpuUsage() in a worker reports the whole process, so the main thread measures it once.
    const raw: RawRun = {
      recorders: new Map(),
      windowMs: Math.max(...parts.map((p) => p.windowMs)),
      cpu: process.cpuUsage(cpu0),
    };
    for (const p of parts)
      for (const [key, data] of p.recorders) {
        const r = raw.recorders.get(key) ?? new Recorder();
        raw.recorders.set(key, r);
        r.merge(data);
      }
    return resultOf(raw, opts);
  } finally {
    clearTimeout(cpuTimer);
  }
}

function sumProgress(ps: Progress[]): Progress {
  const first = ps.find(Boolean)!;
  const live = ps.filter(Boolean);
  return {
    ...first,
    ok: live.reduce((s, p) => s + p.ok, 0),
    errors: live.reduce((s, p) => s + p.errors, 0),
    inFlight: live.reduce((s, p) => s + p.inFlight, 0),
  };
}

function runThread(
  job: ThreadJob,
  onProgress: (p: Progress) => void,
): Promise<Extract<ThreadMessage, { type: 'done' }>> {
  return new Promise((resolve, reject) => {
    const w = spawn(job);
    w.on('message', (m: ThreadMessage) => {
      if (m.type === 'progress') onProgress(m.progress);
      else if (m.type === 'done') resolve(m);
      else reject(new Error(`generator thread: ${m.message}`));
    });
    w.on('error', reject);
    w.on('exit', (code) => {
      if (code !== 0) reject(new Error(`generator thread exited with ${code}`));
    });
  });
}
