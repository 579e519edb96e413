// Main-thread health while a heavy model keeps every core busy (reliability.md R20; issue #26 names the
// OCR detector at four concurrent 1024×1024 images, 39.7 ms event-loop p99 before): the server's own
// event-loop delay p99 (its /metrics gauge) and /v2/health/live latency from a prober, over one window.
//   npm run bench:loop-delay [-- --seconds 20 --concurrency 4 --size 1024]
import { runLoadInThreads } from '../src/loadgen/index.js';
import { startServerProcess, stopProcess, summarize } from './lib.js';

const argv = process.argv.slice(2);
const value = (name: string, def: string) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && argv[i + 1] ? argv[i + 1]! : def;
};
const SECONDS = Number(value('seconds', '20'));
const CONCURRENCY = Number(value('concurrency', '4'));
const SIZE = Number(value('size', '1024'));
const PORTS = { http: 18860, grpc: 18861, metrics: 18862 };

async function loopDelayP99Ms(): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${PORTS.metrics}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith('infergate_event_loop_delay_seconds{stat="p99"}'));
  return line === undefined ? Number.NaN : Number(line.split(' ')[1]) * 1000;
}

async function main(): Promise<void> {
  const server = await startServerProcess(
    [
      'examples/models',
      '--http-port',
      String(PORTS.http),
      '--grpc-port',
      String(PORTS.grpc),
      '--metrics-port',
      String(PORTS.metrics),
      '--model-control-mode',
      'explicit',
      '--load-model',
      'paddleocr_det',
      '--log-level',
      'warn',
    ],
    PORTS.http,
  );
  try {
    const spec = {
      protocol: 'http-binary' as const,
      url: `http://127.0.0.1:${PORTS.http}`,
      model: 'paddleocr_det',
      inputs: [{ name: 'x', datatype: 'FP32' as const, shape: [1, 3, SIZE, SIZE] }],
      connections: CONCURRENCY,
    };
    await loopDelayP99Ms(); // a fresh window
    const live: number[] = [];
    let probing = true;
    const prober = (async () => {
      while (probing) {
        const t0 = performance.now();
        await (await fetch(`http://127.0.0.1:${PORTS.http}/v2/health/live`)).arrayBuffer();
        live.push(performance.now() - t0);
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    const r = await runLoadInThreads(
      spec,
      { mode: { kind: 'closed', concurrency: CONCURRENCY }, durationMs: SECONDS * 1000, warmupMs: 3000, batch: 1 },
      1,
    );
    const loop = await loopDelayP99Ms();
    probing = false;
    await prober;
    const l = summarize(live);
    console.log(
      `paddleocr_det ${SIZE}x${SIZE}, ${CONCURRENCY} concurrent, ${SECONDS} s: ${r.total.throughput.toFixed(2)} req/s, ` +
        `event-loop delay p99 ${loop.toFixed(1)} ms (R20 target < 20), /v2/health/live p99 ${l.p99.toFixed(1)} ms ` +
        `(n=${l.n}, target < 10)`,
    );
  } finally {
    await stopProcess(server);
  }
}

await main();
