// The model memory budget under a skewed load (issue #16 item 2, docs/memory.md): 10 copies of a
// few-MB MLP (seeded random weights), a budget that holds 3 of them, and a seeded Zipf-like
// popularity that touches all 10, sent over HTTP by a few concurrent clients to an in-process
// server. Reports calls served / failed, evictions, loads on demand and their latency, and the
// latency of calls whose model was resident vs evicted ("cold") when the call was sent.
//   npm run bench:memory [-- --models 10 --fit 3 --requests 400 --clients 4 --width 512 --layers 4 --zipf 1.1 --seed 7]
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { HttpClient } from '../src/client/http-client.js';
import { seededRandom } from '../src/core/random.js';
import { buildModel, dense, GraphBuilder, relu } from '../src/onnx/index.js';
import { startServer } from '../src/server/server.js';
import { argValue, summarize } from './lib.js';
import { Weights } from './model-layers.js';

const models = Number(argValue('models', '10'));
const fit = Number(argValue('fit', '3'));
const requests = Number(argValue('requests', '400'));
const clients = Number(argValue('clients', '4'));
const width = Number(argValue('width', '512'));
const layers = Number(argValue('layers', '4'));
const zipf = Number(argValue('zipf', '1.1'));
const seed = Number(argValue('seed', '7'));

/** An MLP of `layers` width × width layers (ReLU between), seeded random weights: width² × 4 bytes each. */
function mlp(i: number): Uint8Array {
  const w = new Weights(seed * 1000 + i);
  const g = new GraphBuilder(`mlp_${i}`).input('x', 'FP32', ['batch', width]);
  let h = 'x';
  for (let l = 0; l < layers; l++) {
    const weights = { inFeatures: width, outFeatures: width, weights: w.he(width * width, width) };
    h = dense(g, h, weights, `l${l}`);
    if (l < layers - 1) h = relu(g, h);
  }
  g.node('Identity', [h], ['y']);
  g.output('y', 'FP32', ['batch', width]);
  return buildModel(g);
}

const names = Array.from({ length: models }, (_, i) => `mlp_${String(i).padStart(2, '0')}`);
const repo = mkdtempSync(join(tmpdir(), 'ig-memory-bench-'));
for (const [i, name] of names.entries()) {
  mkdirSync(join(repo, name, '1'), { recursive: true });
  writeFileSync(join(repo, name, '1', 'model.onnx'), mlp(i));
  writeFileSync(join(repo, name, 'config.pbtxt'), 'max_batch_size: 8\ninstance_group [{ count: 1 }]\n');
}
const fileBytes = statSync(join(repo, names[0]!, '1', 'model.onnx')).size;
// Room for `fit` models (each holds its file and what warm-up adds), never for one more.
const budget = Math.floor((fit + 0.5) * fileBytes);

// Seeded Zipf-like popularity: model k is drawn with weight 1 / (k + 1)^s.
const weights = names.map((_, k) => 1 / (k + 1) ** zipf);
const sum = weights.reduce((a, b) => a + b, 0);
const rng = seededRandom(seed);
const plan = Array.from({ length: requests }, () => {
  let r = rng() * sum;
  for (let k = 0; k < models; k++) {
    r -= weights[k]!;
    if (r <= 0) return k;
  }
  return models - 1;
});

// Loads on demand as the server logs them (info), with their duration.
const loadMs: number[] = [];
const logger = pino(
  { level: 'info' },
  {
    write(line: string) {
      const e = JSON.parse(line) as { msg?: string; ms?: number };
      if (e.msg?.includes('on demand') && e.ms !== undefined) loadMs.push(e.ms);
    },
  },
);

const t0 = performance.now();
const server = await startServer(
  { repository: repo, httpPort: 0, enableGrpc: false, metricsPort: 0, modelMemoryBudget: budget, drainSeconds: 0 },
  { logger },
);
const startS = (performance.now() - t0) / 1000;
const http = new HttpClient(`http://127.0.0.1:${server.httpPort}`);
const input = new Float32Array(width).map((_, i) => Math.sin(i));
const resident = { ms: [] as number[] };
const cold = { ms: [] as number[] };
const failures = new Map<string, number>();
let next = 0;
let maxRssMb = 0;

/** READY models now (the admin index, in-process: the call is classified before it is sent). */
function readyNow(): Set<string> {
  return new Set(
    server.admin
      .repositoryIndex(true)
      .filter((e) => e.state === 'READY')
      .map((e) => e.name),
  );
}

async function client(): Promise<void> {
  while (next < plan.length) {
    const model = names[plan[next++]!]!;
    const bucket = readyNow().has(model) ? resident : cold;
    const started = performance.now();
    try {
      await http.infer(model, [{ name: 'x', datatype: 'FP32', shape: [1, width], data: input.slice() }]);
      bucket.ms.push(performance.now() - started);
    } catch (err) {
      const why = (err as Error).message.slice(0, 160);
      failures.set(why, (failures.get(why) ?? 0) + 1);
    }
    maxRssMb = Math.max(maxRssMb, process.memoryUsage.rss() / 2 ** 20);
  }
}

const t1 = performance.now();
await Promise.all(Array.from({ length: clients }, () => client()));
const runS = (performance.now() - t1) / 1000;

const text = await (await fetch(`http://127.0.0.1:${server.metricsPort}/metrics`)).text();
const total = (name: string, labels = '') =>
  text
    .split('\n')
    .filter((l) => (l.startsWith(`${name}{`) || l.startsWith(`${name} `)) && l.includes(labels))
    .reduce((n, l) => n + Number(l.split(' ').pop()), 0);
const residentBytes = text
  .split('\n')
  .filter((l) => l.startsWith('infergate_model_resident_bytes{'))
  .map((l) => Number(l.split(' ').pop()));

await http.close();
await server.stop();
rmSync(repo, { recursive: true, force: true });

const mib = (n: number) => `${(n / 2 ** 20).toFixed(2)} MiB`;
const line = (label: string, ms: number[]) => {
  const s = summarize(ms);
  return `${label.padEnd(22)} n=${String(s.n).padStart(4)}  p50 ${s.p50.toFixed(1).padStart(7)} ms  p99 ${s.p99.toFixed(1).padStart(7)} ms`;
};
const failed = [...failures.values()].reduce((a, b) => a + b, 0);
const served = resident.ms.length + cold.ms.length;
console.log(
  `${models} models × ${mib(fileBytes)} (${layers} × ${width}² FP32), budget ${mib(budget)} (${fit} fit), ` +
    `Zipf s=${zipf} seed ${seed}, ${clients} clients, started in ${startS.toFixed(1)} s`,
);
console.log(
  `calls: ${served} served, ${failed} failed, in ${runS.toFixed(1)} s (${(served / runS).toFixed(0)}/s); ` +
    `calls per model: ${names.map((_, k) => plan.filter((p) => p === k).length).join(' ')}`,
);
for (const [why, n] of failures) console.log(`  failed ×${n}: ${why}`);
console.log(
  `evictions: ${total('infergate_model_evictions_total')}, loads on demand: ${total('infergate_model_ondemand_loads_total', 'outcome="ok"')} ok, ` +
    `${total('infergate_model_ondemand_loads_total', 'outcome="error"')} failed`,
);
console.log(line('load on demand', loadMs));
console.log(line('call, model resident', resident.ms));
console.log(line('call, model cold', cold.ms));
console.log(
  `resident at the end: ${residentBytes.length} versions, ${mib(residentBytes.reduce((a, b) => a + b, 0))} ` +
    `(each ${residentBytes.map((b) => mib(b)).join(', ')}); process RSS peak ${maxRssMb.toFixed(0)} MiB`,
);
if (failed > 0) process.exitCode = 1;
