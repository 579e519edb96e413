// (a) The physical limit: onnxruntime-node in this process's worker threads, as many as the
// server has instances, no transport at all; best throughput over batch sizes.
import { Worker } from 'node:worker_threads';
import { quantile } from './lib.js';
import type { BenchModel } from './models.js';

/** Throughput of one batch size. */
export interface InProcessPoint {
  batch: number;
  inferencesPerSec: number;
  batchP50Ms: number;
}

const ENTRY = new URL('./inprocess-worker.ts', import.meta.url);

function start(m: BenchModel, file: string): Promise<Worker> {
  const tsx = import.meta.resolve('tsx/esm/api');
  const src = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(ENTRY.href)}); });`;
  const w = new Worker(src, {
    eval: true,
    workerData: { file, input: m.input.name, datatype: m.input.datatype, dims: m.input.dims },
  });
  return new Promise((resolve, reject) => {
    w.once('message', () => resolve(w));
    w.once('error', reject);
  });
}

function run(w: Worker, batch: number, durationMs: number): Promise<{ runs: number; latencies: number[] }> {
  return new Promise((resolve) => {
    w.once('message', resolve);
    w.postMessage({ batch, durationMs });
  });
}

/** Measures each batch size with `workers` sessions running at once. */
export async function measureInProcess(
  m: BenchModel,
  file: string,
  workers: number,
  batches: number[],
  durationMs: number,
): Promise<InProcessPoint[]> {
  const pool = await Promise.all(Array.from({ length: workers }, () => start(m, file)));
  try {
    const points: InProcessPoint[] = [];
    for (const batch of batches) {
      const res = await Promise.all(pool.map((w) => run(w, batch, durationMs)));
      const lat = res.flatMap((r) => r.latencies).sort((a, b) => a - b);
      const perSec = res.reduce((s, r) => s + (r.runs * batch * 1000) / r.latencies.reduce((a, b) => a + b, 0), 0);
      points.push({ batch, inferencesPerSec: perSec, batchP50Ms: quantile(lat, 0.5) });
    }
    return points;
  } finally {
    await Promise.all(pool.map((w) => w.terminate()));
  }
}

/** Single-request latency in process: batch 1, one session, nothing else running. */
export async function singleLatencyInProcess(m: BenchModel, file: string, durationMs: number): Promise<number> {
  const [p] = await measureInProcess(m, file, 1, [1], durationMs);
  return p!.batchP50Ms;
}
