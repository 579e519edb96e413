// Cost of observability at saturation: the digits MLP served over HTTP (binary tensors) by three
// servers started at once and measured in interleaved windows so they share the machine's noise:
//   off      --no-metrics, tracing off
//   metrics  metrics on (scraped every second), tracing off
//   traced   metrics on, tracing on at 100 % sampling into a no-op exporter
// Prints throughput per mode and the ratios metrics/off and traced/metrics.
//   node --import tsx bench/metrics-overhead.ts [--rounds 5 --window-ms 4000 --concurrency 64]
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { HttpClient } from '../src/client/http-client.js';
import type { Tensor } from '../src/core/index.js';

const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2) args.set(process.argv[i]!.replace(/^--/, ''), process.argv[i + 1]!);
const MODES = ['off', 'metrics', 'traced'] as const;
type Mode = (typeof MODES)[number];

/** Child side: one server in the given mode; prints its ports once ready. */
async function serve(mode: Mode): Promise<void> {
  const { startServer } = await import('../src/server/server.js');
  const { Tracing } = await import('../src/observability/tracing.js');
  const noop = { export: (_s: unknown, done: (r: { code: 0 }) => void) => done({ code: 0 }), shutdown: async () => {} };
  const tracing =
    mode === 'traced'
      ? new Tracing({ exporter: noop, env: { OTEL_TRACES_EXPORTER: 'otlp', OTEL_TRACES_SAMPLER: 'always_on' } })
      : new Tracing({ env: {} });
  const s = await startServer(
    {
      repository: 'examples/models',
      controlMode: 'explicit',
      loadModels: ['digits'],
      httpPort: 0,
      grpcPort: 0,
      metricsPort: 0,
      enableMetrics: mode !== 'off',
      logLevel: 'warn',
    },
    { tracing },
  );
  process.stdout.write(`READY ${s.httpPort} ${s.metricsPort ?? 0}\n`);
  process.on('SIGTERM', () => s.stop().then(() => process.exit(0)));
}

function startChild(mode: Mode): Promise<{ child: ChildProcess; http: number; metrics: number }> {
  const child = spawn(process.execPath, ['--import', 'tsx', process.argv[1]!, '--serve', mode], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`${mode} server exited with ${code}`)));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const m = /^READY (\d+) (\d+)$/.exec(line);
      if (m) resolve({ child, http: Number(m[1]), metrics: Number(m[2]) });
    });
  });
}

/** CPU seconds (user + system, all threads) a process has used, from /proc (Linux). */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** Requests completed in one window at fixed concurrency (closed loop). */
async function window(client: HttpClient, ms: number, concurrency: number, x: Tensor): Promise<number> {
  const end = performance.now() + ms;
  let done = 0;
  const worker = async () => {
    while (performance.now() < end) {
      await client.infer('digits', [x]);
      done++;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return done / (ms / 1000);
}

async function main(): Promise<void> {
  const rounds = Number(args.get('rounds') ?? 5);
  const windowMs = Number(args.get('window-ms') ?? 4000);
  const concurrency = Number(args.get('concurrency') ?? 64);
  const x: Tensor = { name: 'input', datatype: 'FP32', shape: [1, 784], data: new Float32Array(784).fill(0.25) };
  const servers = await Promise.all(MODES.map(startChild));
  const clients = servers.map((s) => new HttpClient(`http://127.0.0.1:${s.http}`, { connections: concurrency }));
  const rps: Record<Mode, number[]> = { off: [], metrics: [], traced: [] };
  const cpuUs: Record<Mode, number[]> = { off: [], metrics: [], traced: [] };
  // Scrape like a (very eager) Prometheus: once a second, on the servers that have metrics.
  const scraper = setInterval(() => {
    for (const s of servers)
      if (s.metrics)
        fetch(`http://127.0.0.1:${s.metrics}/metrics`).then(
          (r) => r.text(),
          () => {},
        );
  }, 1000);
  try {
    for (let i = 0; i < MODES.length; i++) await window(clients[i]!, 1500, concurrency, x);
    for (let r = 0; r < rounds; r++) {
      // Rotate the order each round so no mode always runs right after another.
      for (let k = 0; k < MODES.length; k++) {
        const i = (k + r) % MODES.length;
        const pid = servers[i]!.child.pid!;
        const cpu0 = cpuSeconds(pid);
        const rate = await window(clients[i]!, windowMs, concurrency, x);
        rps[MODES[i]!].push(rate);
        cpuUs[MODES[i]!].push(((cpuSeconds(pid) - cpu0) * 1e6) / (rate * (windowMs / 1000)));
      }
      process.stderr.write(`round ${r + 1}/${rounds}\n`);
    }
  } finally {
    clearInterval(scraper);
    await Promise.all(clients.map((c) => c.close()));
    for (const s of servers) s.child.kill('SIGTERM');
  }
  const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!;
  const m = Object.fromEntries(MODES.map((k) => [k, median(rps[k])])) as Record<Mode, number>;
  const c = Object.fromEntries(MODES.map((k) => [k, median(cpuUs[k])])) as Record<Mode, number>;
  for (const k of MODES)
    console.log(
      `${k.padEnd(8)} median ${m[k].toFixed(0)} req/s, server CPU ${c[k].toFixed(1)} µs/req   windows: ${rps[k].map((v) => v.toFixed(0)).join(' ')}`,
    );
  const pct = (a: number, b: number) => `${((a / b - 1) * 100).toFixed(1)} %`;
  console.log(
    `throughput  metrics on / off = ${(m.metrics / m.off).toFixed(3)}; tracing 100 % / metrics on = ${(m.traced / m.metrics).toFixed(3)}`,
  );
  console.log(
    `server CPU per request: metrics ${pct(c.metrics, c.off)} vs off; tracing 100 % ${pct(c.traced, c.metrics)} vs metrics on`,
  );
}

const serveMode = args.get('serve') as Mode | undefined;
(serveMode ? serve(serveMode) : main()).catch((err) => {
  console.error(err);
  process.exit(1);
});
