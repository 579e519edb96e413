// Per-request overhead of serving: in-process onnxruntime vs the served digit model at concurrency 1
// over HTTP-JSON, HTTP-binary and gRPC, measured in one run, interleaved in rounds to share the noise.
//   npm run bench:overhead [-- --rounds 5 --per-round 400]
import { mkdirSync, writeFileSync } from 'node:fs';
import ort from 'onnxruntime-node';
import { GrpcClient } from '../src/client/grpc-client.js';
import { HttpClient } from '../src/client/http-client.js';
import type { Tensor } from '../src/core/index.js';
import { startServerProcess, stopProcess, summarize } from './lib.js';

const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2) args.set(process.argv[i]!.replace(/^--/, ''), process.argv[i + 1]!);
const rounds = Number(args.get('rounds') ?? 5);
const perRound = Number(args.get('per-round') ?? 400);
const HTTP = 18500;
const GRPC = 18501;
const MODEL = 'examples/models/digits/1/model.onnx';

const pixels = new Float32Array(784).map((_, i) => (i % 13) / 13);
const input = (): Tensor => ({ name: 'input', datatype: 'FP32', shape: [1, 784], data: pixels.slice() });

async function main(): Promise<void> {
  const session = await ort.InferenceSession.create(MODEL, {
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
    extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } },
  });
  const server = await startServerProcess(
    [
      'examples/models',
      '--http-port',
      String(HTTP),
      '--grpc-port',
      String(GRPC),
      '--model-control-mode',
      'explicit',
      '--load-model',
      'digits',
      '--log-level',
      'warn',
      '--metrics-port',
      '0',
    ],
    HTTP,
  );
  const http = new HttpClient(`http://127.0.0.1:${HTTP}`, { connections: 1 });
  const grpc = new GrpcClient(`127.0.0.1:${GRPC}`);
  const modes: Record<string, () => Promise<unknown>> = {
    'in-process ORT': () => session.run({ input: new ort.Tensor('float32', pixels.slice(), [1, 784]) }),
    'HTTP JSON': () => http.infer('digits', [input()], { binary: false }),
    'HTTP binary': () => http.infer('digits', [input()], { binary: true }),
    gRPC: () => grpc.infer('digits', [input()]),
  };
  const samples: Record<string, number[]> = Object.fromEntries(Object.keys(modes).map((k) => [k, []]));
  try {
    for (const f of Object.values(modes)) for (let i = 0; i < 200; i++) await f();
    for (let r = 0; r < rounds; r++) {
      for (const [name, f] of Object.entries(modes)) {
        for (let i = 0; i < perRound; i++) {
          const t0 = performance.now();
          await f();
          samples[name]!.push(performance.now() - t0);
        }
      }
      process.stderr.write(`round ${r + 1}/${rounds}\n`);
    }
  } finally {
    grpc.close();
    await http.close();
    await stopProcess(server);
  }
  const base = summarize(samples['in-process ORT']!);
  const rows = Object.entries(samples).map(([mode, s]) => {
    const q = summarize(s);
    return { mode, ...q, overheadP50: q.p50 - base.p50 };
  });
  console.log('mode             n      p50 ms   p90 ms   p99 ms   overhead p50 (ms)');
  for (const r of rows)
    console.log(
      `${r.mode.padEnd(16)} ${String(r.n).padEnd(6)} ${r.p50.toFixed(3).padStart(7)}  ${r.p90.toFixed(3).padStart(7)}  ${r.p99.toFixed(3).padStart(7)}  ${r.overheadP50.toFixed(3).padStart(7)}`,
    );
  mkdirSync('bench/results', { recursive: true });
  const file = `bench/results/overhead-${new Date().toISOString().replace(/[:.]/g, '-')}.json`;
  writeFileSync(file, JSON.stringify({ model: 'digits', rounds, perRound, rows }, null, 2));
  console.log(`written ${file}`);
}

await main();
