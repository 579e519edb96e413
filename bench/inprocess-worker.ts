// One worker thread of the in-process baseline (bench/inprocess.ts): one onnxruntime session with
// the server's session settings, running one prepared batch back to back for a fixed time.
import { parentPort, workerData } from 'node:worker_threads';
import ort from 'onnxruntime-node';

interface Job {
  file: string;
  input: string;
  datatype: 'FP32' | 'INT64';
  dims: number[];
}
interface Run {
  batch: number;
  durationMs: number;
}

const job = workerData as Job;
// The server's defaults (src/config/execution.ts): one thread per session, no spinning.
const session = await ort.InferenceSession.create(job.file, {
  intraOpNumThreads: 1,
  interOpNumThreads: 1,
  graphOptimizationLevel: 'all',
  extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } },
});

function feeds(batch: number): Record<string, ort.Tensor> {
  const shape = [batch, ...job.dims];
  const n = shape.reduce((a, b) => a * b, 1);
  if (job.datatype === 'INT64')
    return {
      [job.input]: new ort.Tensor(
        'int64',
        BigInt64Array.from({ length: n }, (_, i) => BigInt(i % 100)),
        shape,
      ),
    };
  return {
    [job.input]: new ort.Tensor(
      'float32',
      Float32Array.from({ length: n }, (_, i) => (i % 97) / 97),
      shape,
    ),
  };
}

parentPort!.on('message', async (r: Run) => {
  const f = feeds(r.batch);
  await session.run(f);
  const latencies: number[] = [];
  const end = performance.now() + r.durationMs;
  for (let t = performance.now(); t < end; ) {
    await session.run(f);
    const now = performance.now();
    latencies.push(now - t);
    t = now;
  }
  parentPort!.postMessage({ runs: latencies.length, latencies });
});
parentPort!.postMessage({ ready: true });
