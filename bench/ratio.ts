// Served vs in-process throughput on the compute-bound models, measured as alternating pairs:
// in-process (2 worker threads at the best batch size), then infergate with dynamic batching and
// batch_size_tuning: throughput over HTTP-binary (or, with --preferred, the best in-process batch size as its
// only preferred size), repeated. One window per system moves ±10% on this shared 2-core box; pairs taken
// back to back share the drift, so the median of the per-pair ratios is what the target is held to.
//   npm run bench:ratio [-- --models resnet50,bert --pairs 4 --seconds 15 --worker-nice N --preferred]
import { mkdirSync, writeFileSync } from 'node:fs';
import Table from 'cli-table3';
import { createTarget, runLoad } from '../src/loadgen/index.js';
import { measureInProcess } from './inprocess.js';
import { median, serveBench, stopProcess } from './lib.js';
import { type BenchModel, ensureModelFile, MODELS, writeServed } from './models.js';

const argv = process.argv.slice(2);
const value = (name: string, def: string) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && argv[i + 1] ? argv[i + 1]! : def;
};
const NAMES = value('models', 'resnet50,bert').split(',') as BenchModel['name'][];
const PAIRS = Number(value('pairs', '4'));
const SECONDS = Number(value('seconds', '15'));
const PORTS = { http: 18870, grpc: 18871 };
const INSTANCES = 2;
const TARGET = 0.95;
const NICE = argv.includes('--worker-nice') ? Number(value('worker-nice', '10')) : undefined;
const PREFERRED = argv.includes('--preferred');

interface Pair {
  inProcess: number;
  served: number;
  ratio: number;
}

async function servedRate(m: BenchModel, name: string): Promise<number> {
  const concurrency = INSTANCES * m.maxBatch;
  const inputs = [{ name: m.input.name, datatype: m.input.datatype, shape: [1, ...m.input.dims] }];
  const target = createTarget({
    protocol: 'http-binary',
    url: `http://127.0.0.1:${PORTS.http}`,
    model: name,
    inputs,
    connections: concurrency,
  });
  try {
    const r = await runLoad(target, {
      mode: { kind: 'closed', concurrency },
      durationMs: SECONDS * 1000,
      warmupMs: 3000,
      batch: 1,
    });
    return r.total.inferencesPerSec;
  } finally {
    await target.close();
  }
}

async function measureModel(m: BenchModel): Promise<{ batch: number; pairs: Pair[] }> {
  const file = await ensureModelFile(m);
  process.stderr.write(`\n== ${m.name}: choosing the in-process batch size\n`);
  const sweep = await measureInProcess(m, file, INSTANCES, [1, 2, 4, 8], 4000);
  const best = sweep.reduce((a, b) => (b.inferencesPerSec > a.inferencesPerSec ? b : a));
  // Served with the model's own batching config plus batch_size_tuning: throughput, so the server
  // finds the cheapest batch size per row itself; --preferred instead serves the sweep's best size
  // as the only preferred size with no queue delay (a hand-tuned config: under a backlog a delay
  // would be exceeded and Triton's rule then sends the largest batch, preferred sizes notwithstanding).
  const name = await writeServed(PREFERRED ? { ...m, preferred: [best.batch], queueDelayUs: 0 } : m, {
    suffix: '_tuned',
    batching: true,
    workerNice: NICE,
    tuning: !PREFERRED,
  });
  const server = await serveBench([name], PORTS);
  const pairs: Pair[] = [];
  try {
    for (let i = 0; i < PAIRS; i++) {
      // The idle server's workers sleep (no spinning), so the in-process window has the cores.
      const [p] = await measureInProcess(m, file, INSTANCES, [best.batch], SECONDS * 1000);
      const served = await servedRate(m, name);
      const pair = { inProcess: p!.inferencesPerSec, served, ratio: served / p!.inferencesPerSec };
      pairs.push(pair);
      process.stderr.write(
        `  pair ${i + 1}/${PAIRS}: in-process ${pair.inProcess.toFixed(2)}/s, infergate ${served.toFixed(2)}/s, ratio ${pair.ratio.toFixed(3)}\n`,
      );
    }
  } finally {
    await stopProcess(server);
  }
  return { batch: best.batch, pairs };
}

async function main(): Promise<void> {
  const t = new Table({
    style: { head: [], border: [] },
    head: [
      'model',
      'in-process batch = preferred',
      'pairs',
      'ratio median',
      'ratio min',
      'ratio max',
      `median ≥ ${TARGET}`,
    ],
  });
  const results: Record<string, unknown> = {};
  for (const n of NAMES) {
    const m = MODELS[n];
    if (m === undefined) throw new Error(`unknown model '${n}' (${Object.keys(MODELS).join(', ')})`);
    const r = await measureModel(m);
    const ratios = r.pairs.map((p) => p.ratio).sort((a, b) => a - b);
    const mid = median(ratios);
    t.push([
      n,
      String(r.batch),
      String(ratios.length),
      mid.toFixed(3),
      ratios[0]!.toFixed(3),
      ratios[ratios.length - 1]!.toFixed(3),
      mid >= TARGET ? 'yes' : 'NO',
    ]);
    results[n] = { ...r, median: mid };
  }
  const how = PREFERRED ? 'preferred size = in-process best' : 'batch_size_tuning: throughput';
  console.log(
    `Served (infergate, dynamic batching with ${how}, HTTP-binary) ÷ in-process, alternating ${SECONDS} s windows`,
  );
  console.log(t.toString());
  mkdirSync('bench/results', { recursive: true });
  const file = `bench/results/ratio-${new Date().toISOString().replace(/[:.]/g, '-')}.json`;
  writeFileSync(file, JSON.stringify({ seconds: SECONDS, results }, null, 2));
  console.log(`written ${file}`);
}

await main();
