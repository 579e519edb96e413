// Kafka streaming inference against HTTP binary on the same server, in the same run (issue #17
// item 5). One `infergate serve` process serves the digits MLP (dynamic batching) over HTTP and
// from a Kafka topic (a throwaway single-node broker, scripts/services/kafka.mjs). Alternating
// windows, back to back so they share the box's drift:
//   HTTP  closed loop, binary tensors, `--concurrency` clients for `--seconds` (src/loadgen);
//   Kafka `--records` binary requests produced as fast as the producer goes (keys spread over the
//         input's partitions), timed from the first send to the last result read back.
// The median of the per-pair ratios (Kafka ÷ HTTP inferences/s) is held to the target (≥ 0.8).
// Then the end-to-end latency of Kafka records at a paced rate (`--rate`/s for `--latency-seconds`):
// from the producer's send to the result read from the output topic, p50/p99 (and HTTP's at the
// same rate, open loop, for reference). The broker, producer and readers share the box's cores.
//   npm run bench:kafka [-- --pairs 3 --seconds 8 --records 20000 --concurrency 64 --partitions 4 --rate 500]
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import Table from 'cli-table3';
import { type Consumer, Kafka, logLevel, type Message, type Producer } from 'kafkajs';
import { constantRate, createTarget, runLoad } from '../src/loadgen/index.js';
// @ts-expect-error a plain .mjs helper shared with the test runner
import { startKafka } from '../scripts/services/kafka.mjs';
import { createTopics } from '../test/services/kafka.js';
import { argValue, median, quantile, startServerProcess, stopProcess } from './lib.js';

const PAIRS = Number(argValue('pairs', '3'));
const SECONDS = Number(argValue('seconds', '8'));
const RECORDS = Number(argValue('records', '20000'));
const CONCURRENCY = Number(argValue('concurrency', '64'));
const PARTITIONS = Number(argValue('partitions', '4'));
const RATE = Number(argValue('rate', '500'));
const LATENCY_SECONDS = Number(argValue('latency-seconds', '10'));
const PORTS = { http: 18890, grpc: 18891 };
const TARGET = 0.8;
const INPUT = 'bench-digits-in';
const OUTPUT = 'bench-digits-out';

/** One digits request (1 × 784 FP32, binary tensor extension, binary output): the bytes and the header length. */
function digitsBody(seed: number): { value: Buffer; headerLength: number } {
  const pixels = new Float32Array(784).map((_, i) => ((i * 31 + seed * 17) % 256) / 255);
  const json = Buffer.from(
    JSON.stringify({
      inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 784], parameters: { binary_data_size: 784 * 4 } }],
      parameters: { binary_data_output: true },
    }),
  );
  return { value: Buffer.concat([json, Buffer.from(pixels.buffer)]), headerLength: json.byteLength };
}

const BODIES = Array.from({ length: 16 }, (_, i) => digitsBody(i));

function record(id: string, n: number): Message {
  const b = BODIES[n % BODIES.length]!;
  return {
    key: `k${n % 64}`,
    value: b.value,
    headers: {
      'content-type': 'application/octet-stream',
      'inference-header-content-length': String(b.headerLength),
      'infergate-request-id': id,
    },
  };
}

/** Reads the output topic; calls `onResult(id, at)` for each result (at = performance.now()). */
async function readResults(kafka: Kafka, onResult: (id: string, at: number) => void): Promise<Consumer> {
  const c = kafka.consumer({ groupId: `bench-reader-${Date.now()}`, maxWaitTimeInMs: 20, minBytes: 1 });
  await c.connect();
  await c.subscribe({ topic: OUTPUT, fromBeginning: false });
  let joined!: () => void;
  const ready = new Promise<void>((r) => {
    joined = r;
  });
  c.on(c.events.GROUP_JOIN, () => joined());
  await c.run({
    eachBatch: async ({ batch }) => {
      const at = performance.now();
      for (const m of batch.messages) onResult(m.headers?.['infergate-request-id']?.toString() ?? '', at);
    },
  });
  await ready;
  return c;
}

/** Sends `count` records in batches of 500, a few sends in flight at once. */
async function produceBurst(producer: Producer, prefix: string, count: number): Promise<void> {
  const sends: Promise<unknown>[] = [];
  for (let i = 0; i < count; i += 500) {
    const messages = Array.from({ length: Math.min(500, count - i) }, (_, j) => record(`${prefix}-${i + j}`, i + j));
    sends.push(producer.send({ topic: INPUT, messages, acks: -1 }));
    if (sends.length >= 4) await sends.shift();
  }
  await Promise.all(sends);
}

async function httpWindow(): Promise<number> {
  const target = createTarget({
    protocol: 'http-binary',
    url: `http://127.0.0.1:${PORTS.http}`,
    model: 'digits',
    inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 784] }],
    connections: CONCURRENCY,
  });
  try {
    const r = await runLoad(target, {
      mode: { kind: 'closed', concurrency: CONCURRENCY },
      durationMs: SECONDS * 1000,
      warmupMs: 1000,
      batch: 1,
    });
    return r.total.inferencesPerSec;
  } finally {
    await target.close();
  }
}

async function main(): Promise<void> {
  execFileSync(process.execPath, ['--import', 'tsx', 'scripts/build-examples.ts'], { stdio: 'inherit' });
  const broker = await startKafka();
  const kafka = new Kafka({ clientId: 'bench', brokers: [broker.brokers], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  await createTopics(admin, [INPUT, OUTPUT], PARTITIONS);
  await createTopics(admin, [`${INPUT}.dlq`], 1);
  const inFlight = Math.max(1, Math.round(CONCURRENCY / PARTITIONS));
  const server = await startServerProcess(
    [
      'examples/models',
      ...['--http-port', String(PORTS.http), '--grpc-port', String(PORTS.grpc), '--metrics-port', '0'],
      ...['--model-control-mode', 'explicit', '--load-model', 'digits', '--log-level', 'warn'],
      ...['--kafka-brokers', broker.brokers, '--kafka-stream', `digits=${INPUT},${OUTPUT}`],
      ...['--kafka-in-flight', String(inFlight)],
    ],
    PORTS.http,
  );
  const producer = kafka.producer();
  await producer.connect();
  // Every result's first arrival; per id prefix (a window) how many arrived and when the last did.
  const received = new Map<string, number>();
  const counts = new Map<string, { n: number; last: number }>();
  const reader = await readResults(kafka, (id, at) => {
    if (received.has(id)) return;
    received.set(id, at);
    const prefix = id.slice(0, id.lastIndexOf('-'));
    const c = counts.get(prefix) ?? { n: 0, last: 0 };
    c.n++;
    c.last = at;
    counts.set(prefix, c);
  });
  const all = async (prefix: string, n: number) => {
    while ((counts.get(prefix)?.n ?? 0) < n) await new Promise((r) => setTimeout(r, 5));
    return counts.get(prefix)!.last;
  };
  const pairs: Array<{ http: number; kafka: number; ratio: number }> = [];
  try {
    // Warm-up: the stream's consumer joined, the model's batcher and the broker's topics are hot.
    await produceBurst(producer, 'warm', 2000);
    await all('warm', 2000);
    for (let p = 0; p < PAIRS; p++) {
      const http = await httpWindow();
      const t0 = performance.now();
      await produceBurst(producer, `w${p}`, RECORDS);
      const end = await all(`w${p}`, RECORDS);
      const rate = RECORDS / ((end - t0) / 1000);
      pairs.push({ http, kafka: rate, ratio: rate / http });
      process.stderr.write(
        `  pair ${p + 1}/${PAIRS}: HTTP binary ${http.toFixed(0)}/s, Kafka ${rate.toFixed(0)}/s, ratio ${(rate / http).toFixed(3)}\n`,
      );
    }
    // Latency at a paced rate: one small batch every 10 ms.
    const sent = new Map<string, number>();
    const perTick = Math.max(1, Math.round(RATE / 100));
    const ticks = Math.round((LATENCY_SECONDS * 100 * RATE) / (perTick * 100));
    const start = performance.now();
    const sends: Promise<unknown>[] = [];
    for (let t = 0; t < ticks; t++) {
      const wait = start + t * 10 - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const messages = Array.from({ length: perTick }, (_, j) => record(`lat-${t * perTick + j}`, t * perTick + j));
      const at = performance.now();
      for (const m of messages) sent.set(m.headers!['infergate-request-id'] as string, at);
      sends.push(producer.send({ topic: INPUT, messages, acks: -1 }));
    }
    await Promise.all(sends);
    await all('lat', sent.size);
    const latencies = [...sent].map(([id, at]) => received.get(id)! - at).sort((a, b) => a - b);
    const httpLatency = await httpOpenLoop();
    report(pairs, latencies, httpLatency, inFlight);
  } finally {
    await reader.disconnect();
    await producer.disconnect();
    await admin.disconnect();
    await stopProcess(server);
    await broker.stop();
  }
}

/** HTTP binary at the same paced rate, open loop: latency from the scheduled send to the answer. */
async function httpOpenLoop(): Promise<{ p50: number; p99: number }> {
  const target = createTarget({
    protocol: 'http-binary',
    url: `http://127.0.0.1:${PORTS.http}`,
    model: 'digits',
    inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 784] }],
    connections: 16,
  });
  try {
    const r = await runLoad(target, {
      mode: { kind: 'open', profile: constantRate(RATE), seed: 1 },
      durationMs: LATENCY_SECONDS * 1000,
      warmupMs: 1000,
      batch: 1,
    });
    return { p50: r.total.latencyMs.p50, p99: r.total.latencyMs.p99 };
  } finally {
    await target.close();
  }
}

function report(
  pairs: Array<{ http: number; kafka: number; ratio: number }>,
  latencies: number[],
  http: { p50: number; p99: number },
  inFlight: number,
): void {
  const ratios = pairs.map((p) => p.ratio).sort((a, b) => a - b);
  const mid = median(ratios);
  const t = new Table({ style: { head: [], border: [] }, head: ['pair', 'HTTP binary inf/s', 'Kafka inf/s', 'ratio'] });
  pairs.forEach((p, i) => void t.push([String(i + 1), p.http.toFixed(0), p.kafka.toFixed(0), p.ratio.toFixed(3)]));
  console.log(
    `digits MLP, one server: HTTP binary (closed loop, ${CONCURRENCY} clients, ${SECONDS} s) vs Kafka ` +
      `(${RECORDS} records, ${PARTITIONS} partitions × ${inFlight} in flight)`,
  );
  console.log(t.toString());
  console.log(
    `ratio median ${mid.toFixed(3)} (min ${ratios[0]!.toFixed(3)}, max ${ratios.at(-1)!.toFixed(3)}); target ≥ ${TARGET}: ${mid >= TARGET ? 'yes' : 'NO'}`,
  );
  const k = { p50: quantile(latencies, 0.5), p99: quantile(latencies, 0.99) };
  console.log(
    `end-to-end latency at ${RATE}/s for ${LATENCY_SECONDS} s (${latencies.length} records): Kafka produce → result consumed ` +
      `p50 ${k.p50.toFixed(1)} ms, p99 ${k.p99.toFixed(1)} ms; HTTP binary (open loop) p50 ${http.p50.toFixed(1)} ms, p99 ${http.p99.toFixed(1)} ms`,
  );
  mkdirSync('bench/results', { recursive: true });
  const file = `bench/results/kafka-${new Date().toISOString().replace(/[:.]/g, '-')}.json`;
  writeFileSync(
    file,
    JSON.stringify(
      { pairs, ratioMedian: mid, latencyMs: { kafka: k, http, rate: RATE, seconds: LATENCY_SECONDS } },
      null,
      2,
    ),
  );
  console.log(`written ${file}`);
}

await main();
