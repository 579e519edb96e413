// Overload check (issue 3 target): open-loop Poisson load at 3x the measured capacity against a
// model copy with a bounded queue. Measured in one run, on one server process:
//   - served: successful inferences/s under overload ÷ the peak measured closed-loop just before;
//   - rejections: how fast each 503 / UNAVAILABLE is answered (client-side p99, which includes the
//     generator's own scheduling on these shared cores, and the server's own mean from its stats);
//   - the server's own event-loop delay p99 over the overload window (its /metrics gauge);
//   - /v2/health/live latency p99 from a prober running beside the load.
// The generator runs in worker threads so the prober's timings are not queued behind it.
//   npm run bench:overload [-- --model bert|resnet50|mlp --factor 3 --seconds 20 --protocols http-binary,grpc --worker-nice N]
import { mkdirSync, writeFileSync } from 'node:fs';
import Table from 'cli-table3';
import {
  constantRate,
  type LoadResult,
  type Protocol,
  runLoadInThreads,
  type TargetSpec,
} from '../src/loadgen/index.js';
import { serveBench, stopProcess, summarize } from './lib.js';
import { type BenchModel, MODELS, writeServed } from './models.js';

const argv = process.argv.slice(2);
const value = (name: string, def: string) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && argv[i + 1] ? argv[i + 1]! : def;
};
const m: BenchModel | undefined = MODELS[value('model', 'bert') as BenchModel['name']];
if (m === undefined) throw new Error(`--model must be one of ${Object.keys(MODELS).join(', ')}`);
const FACTOR = Number(value('factor', '3'));
const SECONDS = Number(value('seconds', '20'));
const PROTOCOLS = value('protocols', 'http-binary,grpc').split(',') as Protocol[];
const NICE = argv.includes('--worker-nice') ? Number(value('worker-nice', '10')) : undefined;
const PORTS = { http: 18850, grpc: 18851, metrics: 18852 };
const INSTANCES = 2;
/** Targets from the issue. */
const TARGET = { servedRatio: 0.9, rejectP99Ms: 5, loopP99Ms: 10, liveP99Ms: 10 };

function spec(protocol: Protocol, name: string, connections: number): TargetSpec {
  const url = protocol === 'grpc' ? `127.0.0.1:${PORTS.grpc}` : `http://127.0.0.1:${PORTS.http}`;
  const inputs = [{ name: m!.input.name, datatype: m!.input.datatype, shape: [1, ...m!.input.dims] }];
  return { protocol, url, model: name, inputs, connections };
}

/** Reads the server's event-loop delay p99 (seconds) since the previous scrape. */
async function loopDelayP99Ms(): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${PORTS.metrics}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith('infergate_event_loop_delay_seconds{stat="p99"}'));
  return line === undefined ? Number.NaN : Number(line.split(' ')[1]) * 1000;
}

/** The model's failure count and summed failure time (ns) from the statistics extension. */
async function failStats(name: string): Promise<{ count: number; ns: number }> {
  const body = (await (await fetch(`http://127.0.0.1:${PORTS.http}/v2/models/${name}/stats`)).json()) as {
    model_stats: Array<{ inference_stats: { fail: { count: number; ns: number } } }>;
  };
  return body.model_stats.reduce(
    (a, m) => ({ count: a.count + m.inference_stats.fail.count, ns: a.ns + m.inference_stats.fail.ns }),
    { count: 0, ns: 0 },
  );
}

/** Probes /v2/health/live every `everyMs` until stopped; returns the latencies. */
function probeLiveness(everyMs: number): { stop: () => Promise<number[]> } {
  const samples: number[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      const t0 = performance.now();
      const r = await fetch(`http://127.0.0.1:${PORTS.http}/v2/health/live`);
      await r.arrayBuffer();
      samples.push(performance.now() - t0);
      await new Promise((res) => setTimeout(res, everyMs));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return samples;
    },
  };
}

interface Check {
  protocol: Protocol;
  peak: LoadResult;
  overload: LoadResult;
  rate: number;
  /** Mean time the server itself took to answer a failed request (statistics extension). */
  serverRejectMs: number;
  loopP99Ms: number;
  liveP99Ms: number;
  liveN: number;
}

async function check(protocol: Protocol, name: string): Promise<Check> {
  const concurrency = INSTANCES * m!.maxBatch;
  const warmupMs = 2000;
  process.stderr.write(`  ${protocol}: peak (closed loop, concurrency ${concurrency})…\n`);
  const peak = await runLoadInThreads(
    spec(protocol, name, concurrency),
    { mode: { kind: 'closed', concurrency }, durationMs: SECONDS * 1000, warmupMs, batch: 1 },
    1,
  );
  const rate = FACTOR * peak.total.throughput;
  process.stderr.write(`  ${protocol}: overload at ${rate.toFixed(1)} req/s (${FACTOR}x)…\n`);
  await loopDelayP99Ms(); // starts a fresh event-loop delay window
  const fail0 = await failStats(name);
  const prober = probeLiveness(50);
  const overload = await runLoadInThreads(
    spec(protocol, name, 256),
    {
      mode: { kind: 'open', profile: constantRate(rate), seed: 5, maxInFlight: 4096 },
      durationMs: SECONDS * 1000,
      warmupMs,
      batch: 1,
    },
    1,
  );
  const loopP99Ms = await loopDelayP99Ms();
  const live = summarize(await prober.stop());
  const fail1 = await failStats(name);
  const serverRejectMs = (fail1.ns - fail0.ns) / 1e6 / Math.max(1, fail1.count - fail0.count);
  return { protocol, peak, overload, rate, serverRejectMs, loopP99Ms, liveP99Ms: live.p99, liveN: live.n };
}

function render(checks: Check[], queueSize: number): string {
  const ok = (v: boolean) => (v ? 'yes' : 'NO');
  const t = new Table({
    style: { head: [], border: [] },
    head: [
      'protocol',
      'peak /s',
      'offered /s',
      'served /s',
      `served/peak (≥ ${TARGET.servedRatio})`,
      'rejected',
      `reject p99 ms (< ${TARGET.rejectP99Ms})`,
      'server reject mean ms',
      'ok p99 ms',
      `loop delay p99 ms (≤ ${TARGET.loopP99Ms})`,
      `live p99 ms (< ${TARGET.liveP99Ms})`,
      'other errors',
    ],
  });
  for (const c of checks) {
    const o = c.overload.total;
    const rejectKind = c.protocol === 'grpc' ? 'grpc_UNAVAILABLE' : 'http_503';
    const rejected = o.errors[rejectKind] ?? 0;
    const ratio = o.throughput / c.peak.total.throughput;
    const rejectP99 = o.errorLatencyMs?.p99 ?? 0;
    t.push([
      c.protocol,
      c.peak.total.throughput.toFixed(1),
      c.rate.toFixed(1),
      o.throughput.toFixed(1),
      `${ratio.toFixed(2)} ${ok(ratio >= TARGET.servedRatio)}`,
      String(rejected),
      `${rejectP99.toFixed(2)} ${ok(rejectP99 < TARGET.rejectP99Ms)}`,
      c.serverRejectMs.toFixed(3),
      o.latencyMs.p99.toFixed(1),
      `${c.loopP99Ms.toFixed(2)} ${ok(c.loopP99Ms <= TARGET.loopP99Ms)}`,
      `${c.liveP99Ms.toFixed(2)} ${ok(c.liveP99Ms < TARGET.liveP99Ms)} (n=${c.liveN})`,
      String(o.errorCount - rejected),
    ]);
  }
  return `Overload (${m!.name}, ${FACTOR}x capacity, Poisson, ${SECONDS} s; max_queue_size ${queueSize}, ${INSTANCES} instances)\n${t.toString()}`;
}

async function main(): Promise<void> {
  // Two full batches per instance may wait; anything beyond that would only add latency.
  const queueSize = 2 * INSTANCES * m!.maxBatch;
  const name = await writeServed(m!, { suffix: '_bounded', batching: true, maxQueueSize: queueSize, workerNice: NICE });
  const server = await serveBench([name], PORTS);
  const checks: Check[] = [];
  try {
    for (const p of PROTOCOLS) checks.push(await check(p, name));
  } finally {
    await stopProcess(server);
  }
  const text = render(checks, queueSize);
  console.log(text);
  mkdirSync('bench/results', { recursive: true });
  const file = `bench/results/overload-${new Date().toISOString().replace(/[:.]/g, '-')}.json`;
  writeFileSync(file, JSON.stringify({ model: m!.name, factor: FACTOR, seconds: SECONDS, queueSize, checks }, null, 2));
  console.log(`written ${file}`);
}

await main();
