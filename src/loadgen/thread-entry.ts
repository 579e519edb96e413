/** Entry of one generator thread (see threads.ts): runs its share of the load, posts the measurements. */
import { parentPort, workerData } from 'node:worker_threads';
import { runRaw } from './run.js';
import { createTarget } from './target.js';
import type { ThreadJob, ThreadMessage } from './threads.js';

const job = workerData as ThreadJob;
const post = (m: ThreadMessage) => parentPort!.postMessage(m);
const target = createTarget(job.target);
try {
  const raw = await runRaw(target, { ...job.load, onProgress: (progress) => post({ type: 'progress', progress }) });
  post({ type: 'done', recorders: [...raw.recorders].map(([k, r]) => [k, r.toData()]), windowMs: raw.windowMs });
} catch (err) {
  post({ type: 'error', message: (err as Error).message });
} finally {
  await target.close();
}
