// The comparison benchmark (issue 3, "The benchmark"), in ONE run on this machine per model:
// (a) in-process onnxruntime-node, (b) infergate with dynamic batching, (c) without, (d) a naive
// node:http server, (e) peer servers; then open loop at 0.8 of capacity and the SLO demo.
// Prints a table of ratios, writes JSON and an SVG chart under bench/results/.
//   npm run bench:compare -- [--quick] [--models mlp,resnet50,bert] [--peers all|none|triton,kserve,fastapi] [--no-slo]
import { mkdirSync, writeFileSync } from 'node:fs';
import { type ChildProcess, spawn } from 'node:child_process';
import Table from 'cli-table3';
import {
  constantRate,
  createTarget,
  type InputSpec,
  type LoadMode,
  type LoadResult,
  type Protocol,
  runLoad,
} from '../src/loadgen/index.js';
import { chartSvg, type ChartPanel } from './chart.js';
import { measureInProcess } from './inprocess.js';
import { serveBench, stopProcess } from './lib.js';
import { type BenchModel, ensureModelFile, MODELS, writeServed } from './models.js';
import { ensurePeer, PEERS, type PeerName, startPeer, stopPeer } from './peers.js';
import { runSloDemo, type SloDemoResult } from './slo-demo.js';

const argv = process.argv.slice(2);
const flag = (name: string) => argv.includes(`--${name}`);
const value = (name: string, def: string) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && argv[i + 1] ? argv[i + 1]! : def;
};
const QUICK = flag('quick');
/** Seconds: measured window, warm-up, in-process time per batch size. */
const T = QUICK ? { measure: 3, warmup: 1, inproc: 1.5 } : { measure: 12, warmup: 3, inproc: 4 };
const PORTS = { http: 18800, grpc: 18801, metrics: 18802 };
const INSTANCES = 2;

/** One measured system on one model. */
export interface Row {
  model: string;
  system: string;
  protocol: string;
  inferencesPerSec: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  generatorCpu: number;
  note?: string;
  result?: LoadResult;
}

/** Concurrency that keeps every instance busy with full batches (more only adds queueing). */
function concurrencyOf(m: BenchModel): number {
  return m.name === 'mlp' ? 64 : INSTANCES * m.maxBatch;
}

/** Measured and warm-up seconds: a compute-bound model needs longer to finish enough requests. */
function timesOf(m: BenchModel): { measure: number; warmup: number } {
  return m.name === 'mlp' ? T : { measure: T.measure * 2, warmup: T.warmup * 2 };
}

function inputsOf(m: BenchModel): InputSpec[] {
  return [{ name: m.input.name, datatype: m.input.datatype, shape: [1, ...m.input.dims] }];
}

/** One load run against a served model; never throws (a failure becomes an error row). */
async function load(
  url: string,
  model: string,
  m: BenchModel,
  protocol: Protocol,
  mode: LoadMode,
  boundMs?: number,
): Promise<LoadResult> {
  const conns = mode.kind === 'closed' ? mode.concurrency : 128;
  const target = createTarget({ protocol, url, model, inputs: inputsOf(m), connections: conns });
  const t = timesOf(m);
  try {
    return await runLoad(target, {
      mode,
      durationMs: t.measure * 1000,
      warmupMs: t.warmup * 1000,
      batch: 1,
      latencyBoundMs: boundMs,
    });
  } finally {
    await target.close();
  }
}

function row(m: BenchModel, system: string, protocol: string, r: LoadResult, note?: string): Row {
  const s = r.total;
  process.stderr.write(
    `  ${system} [${protocol}]: ${s.inferencesPerSec.toFixed(1)}/s p99 ${s.latencyMs.p99.toFixed(1)} ms errors ${s.errorCount}\n`,
  );
  return {
    model: m.name,
    system,
    protocol,
    inferencesPerSec: s.inferencesPerSec,
    p50Ms: s.latencyMs.p50,
    p99Ms: s.latencyMs.p99,
    errors: s.errorCount,
    generatorCpu: r.generatorCpuCores,
    note,
    result: r,
  };
}

function failedRow(m: BenchModel, system: string, protocol: string, reason: string): Row {
  process.stderr.write(`  ${system}: FAILED ${reason}\n`);
  return {
    model: m.name,
    system,
    protocol,
    inferencesPerSec: 0,
    p50Ms: Number.NaN,
    p99Ms: Number.NaN,
    errors: 0,
    generatorCpu: 0,
    note: `failed: ${reason}`,
  };
}

/** What the open-loop check at 0.8 of capacity found. */
export interface OpenLoopCheck {
  model: string;
  rate: number;
  singleMs: number;
  boundMs: number;
  p99Ms: number;
  p99OverSingle: number;
  goodput: number;
  goodputOverInProcess: number;
}

/** (b), (c), single-request latency and the open-loop check, all on one infergate process. */
async function measureInfergate(m: BenchModel, limit: number, rows: Row[]): Promise<OpenLoopCheck | undefined> {
  // The batching copy runs with batch_size_tuning: throughput, as we recommend for CPU serving.
  const batched = await writeServed(m, { suffix: '', batching: true, tuning: true });
  const plain = await writeServed(m, { suffix: '_nobatch', batching: false });
  const server = await startInfergate([batched, plain]);
  const url = `http://127.0.0.1:${PORTS.http}`;
  try {
    const c = concurrencyOf(m);
    const single = await load(url, batched, m, 'http-binary', { kind: 'closed', concurrency: 1 });
    rows.push(row(m, 'infergate, concurrency 1', 'http-binary', single));
    const b = await load(url, batched, m, 'http-binary', { kind: 'closed', concurrency: c });
    rows.push(row(m, 'infergate + dynamic batching', 'http-binary', b));
    // Quick runs skip the other protocols on compute-bound models, where transport matters least.
    if (!QUICK || m.name === 'mlp') await otherProtocols(m, batched, c, rows);
    rows.push(
      row(
        m,
        'infergate, no batching',
        'http-binary',
        await load(url, plain, m, 'http-binary', { kind: 'closed', concurrency: c }),
      ),
    );
    const singleMs = single.total.latencyMs.p50;
    const rate = 0.8 * b.total.throughput;
    const boundMs = 3 * singleMs;
    const open = await load(url, batched, m, 'http-binary', { kind: 'open', profile: constantRate(rate) }, boundMs);
    rows.push(row(m, 'infergate open loop @0.8 cap', 'http-binary', open));
    const goodput = open.total.goodput?.inferencesPerSec ?? 0;
    return {
      model: m.name,
      rate,
      singleMs,
      boundMs,
      p99Ms: open.total.latencyMs.p99,
      p99OverSingle: open.total.latencyMs.p99 / singleMs,
      goodput,
      goodputOverInProcess: goodput / limit,
    };
  } catch (err) {
    rows.push(failedRow(m, 'infergate', 'http-binary', (err as Error).message));
    return undefined;
  } finally {
    await stopProcess(server);
  }
}

/** (b) over gRPC and HTTP-JSON, same model, same concurrency. */
async function otherProtocols(m: BenchModel, model: string, c: number, rows: Row[]): Promise<void> {
  const grpc = await load(`127.0.0.1:${PORTS.grpc}`, model, m, 'grpc', { kind: 'closed', concurrency: c });
  rows.push(row(m, 'infergate + dynamic batching', 'grpc', grpc));
  const json = await load(`http://127.0.0.1:${PORTS.http}`, model, m, 'http-json', { kind: 'closed', concurrency: c });
  rows.push(row(m, 'infergate + dynamic batching', 'http-json', json));
}

/** Starts infergate on the bench repository with the given models loaded. */
export function startInfergate(models: string[]): Promise<ChildProcess> {
  return serveBench(models, PORTS);
}

/** (d) The naive node:http server. */
async function measureNaive(m: BenchModel, file: string, rows: Row[]): Promise<void> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'bench/naive-server.ts', file, String(PORTS.http), m.name],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  try {
    await waitReady(child);
    const r = await load(`http://127.0.0.1:${PORTS.http}`, m.name, m, 'http-json', {
      kind: 'closed',
      concurrency: concurrencyOf(m),
    });
    rows.push(row(m, 'naive node:http', 'http-json', r));
  } catch (err) {
    rows.push(failedRow(m, 'naive node:http', 'http-json', (err as Error).message));
  } finally {
    await stopProcess(child);
  }
}

async function waitReady(child: ChildProcess): Promise<void> {
  for (let i = 0; i < 240; i++) {
    if (child.exitCode !== null) throw new Error(`exited with ${child.exitCode}`);
    try {
      if ((await fetch(`http://127.0.0.1:${PORTS.http}/v2/health/ready`)).status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error('not ready in 60 s');
}

/** (e) One peer: install if needed, start, load, stop; failures are rows with the reason. */
async function measurePeer(peer: PeerName, m: BenchModel, file: string, rows: Row[]): Promise<void> {
  const info = PEERS[peer];
  // Ports of its own per peer: Triton can hold its ports for a while after its process exits.
  const base = PORTS.http + 10 * (1 + Object.keys(PEERS).indexOf(peer));
  const ports = { http: base, grpc: base + 1, metrics: base + 2 };
  const env = ensurePeer(peer);
  if ('error' in env) {
    rows.push(failedRow(m, info.label, info.protocol, `install: ${env.error}`));
    return;
  }
  let proc: Awaited<ReturnType<typeof startPeer>> | undefined;
  try {
    proc = await startPeer(
      peer,
      env.python,
      { name: m.name, file, maxBatch: m.maxBatch, queueDelayUs: m.queueDelayUs },
      ports,
    );
    const r = await load(`http://127.0.0.1:${ports.http}`, m.name, m, info.protocol, {
      kind: 'closed',
      concurrency: concurrencyOf(m),
    });
    rows.push(
      row(
        m,
        info.label,
        info.protocol,
        r,
        r.total.errorCount > 0 ? `errors: ${JSON.stringify(r.total.errors)}` : undefined,
      ),
    );
  } catch (err) {
    rows.push(failedRow(m, info.label, info.protocol, `start: ${(err as Error).message}`));
  } finally {
    if (proc) await stopPeer(proc);
  }
}

function peerList(): PeerName[] {
  const v = value('peers', 'all');
  if (v === 'none') return [];
  if (v === 'all') return ['triton', 'kserve', 'fastapi'];
  return v.split(',').map((p) => {
    if (!(p in PEERS)) throw new Error(`unknown peer '${p}' (triton, kserve, fastapi)`);
    return p as PeerName;
  });
}

/** Everything measured for one model. */
async function measureModel(
  m: BenchModel,
  peers: PeerName[],
  rows: Row[],
): Promise<{ limit: number; bestBatch: number; open?: OpenLoopCheck }> {
  process.stderr.write(`\n== ${m.name}: building model, in-process baseline\n`);
  const file = await ensureModelFile(m);
  const batches = m.name === 'mlp' ? [1, 8, 32, 64] : [1, 2, 4, 8];
  const points = await measureInProcess(m, file, INSTANCES, batches, T.inproc * 1000);
  const best = points.reduce((a, b) => (b.inferencesPerSec > a.inferencesPerSec ? b : a));
  rows.push({
    model: m.name,
    system: `in-process ORT, ${INSTANCES} workers, batch ${best.batch}`,
    protocol: '-',
    inferencesPerSec: best.inferencesPerSec,
    p50Ms: best.batchP50Ms,
    p99Ms: Number.NaN,
    errors: 0,
    generatorCpu: 0,
    note: points.map((p) => `b${p.batch}: ${p.inferencesPerSec.toFixed(0)}/s`).join(', '),
  });
  process.stderr.write(
    `  in-process: ${points.map((p) => `b${p.batch} ${p.inferencesPerSec.toFixed(0)}/s`).join(', ')}\n`,
  );
  const open = await measureInfergate(m, best.inferencesPerSec, rows);
  await measureNaive(m, file, rows);
  for (const p of peers) await measurePeer(p, m, file, rows);
  return { limit: best.inferencesPerSec, bestBatch: best.batch, open };
}

const fmt = (v: number, d = 1) => (Number.isFinite(v) ? v.toFixed(d) : '-');

function printTable(rows: Row[], limits: Record<string, number>): void {
  const t = new Table({
    style: { head: [], border: [] },
    head: [
      'model',
      'system',
      'protocol',
      'infer/s',
      '× in-process',
      '× naive',
      'p50 ms',
      'p99 ms',
      'errors',
      'gen CPU',
    ],
  });
  for (const r of rows) {
    const naive = rows.find((x) => x.model === r.model && x.system === 'naive node:http')?.inferencesPerSec ?? 0;
    const lim = limits[r.model] ?? 0;
    t.push([
      r.model,
      r.note?.startsWith('failed') ? `${r.system} (${r.note.slice(0, 60)})` : r.system,
      r.protocol,
      fmt(r.inferencesPerSec),
      lim > 0 ? fmt(r.inferencesPerSec / lim, 2) : '-',
      naive > 0 ? fmt(r.inferencesPerSec / naive, 2) : '-',
      fmt(r.p50Ms, 2),
      fmt(r.p99Ms, 2),
      String(r.errors),
      fmt(r.generatorCpu, 2),
    ]);
  }
  console.log(t.toString());
}

function printOpen(checks: OpenLoopCheck[]): void {
  if (checks.length === 0) return;
  const t = new Table({
    style: { head: [], border: [] },
    head: [
      'model',
      'rate req/s',
      'single ms',
      'p99 ms',
      'p99 / single (≤ 3)',
      `goodput ≤ 3×single /s`,
      'goodput / in-process (≥ 0.8)',
    ],
  });
  for (const c of checks)
    t.push([
      c.model,
      fmt(c.rate),
      fmt(c.singleMs, 2),
      fmt(c.p99Ms, 2),
      fmt(c.p99OverSingle, 2),
      fmt(c.goodput),
      fmt(c.goodputOverInProcess, 2),
    ]);
  console.log('Open loop (Poisson) at 0.8 of infergate’s measured capacity');
  console.log(t.toString());
}

async function main(): Promise<void> {
  const started = Date.now();
  const names = value('models', 'mlp,resnet50,bert').split(',') as BenchModel['name'][];
  const peers = peerList();
  const rows: Row[] = [];
  const limits: Record<string, number> = {};
  const checks: OpenLoopCheck[] = [];
  for (const name of names) {
    const m = MODELS[name];
    if (!m) throw new Error(`unknown model '${name}' (mlp, resnet50, bert)`);
    const r = await measureModel(m, peers, rows);
    limits[name] = r.limit;
    if (r.open) checks.push(r.open);
  }
  let slo: SloDemoResult | undefined;
  if (!flag('no-slo'))
    slo = await runSloDemo(MODELS[names.includes('bert') ? 'bert' : names[0]!]!, { quick: QUICK, ports: PORTS });
  printTable(rows, limits);
  printOpen(checks);
  if (slo) console.log(slo.text);
  writeResults(rows, limits, checks, slo, started);
}

function writeResults(
  rows: Row[],
  limits: Record<string, number>,
  checks: OpenLoopCheck[],
  slo: SloDemoResult | undefined,
  started: number,
): void {
  mkdirSync('bench/results', { recursive: true });
  const stamp = new Date(started).toISOString().replace(/[:.]/g, '-');
  const meta = {
    date: new Date(started).toISOString(),
    quick: QUICK,
    argv,
    seconds: (Date.now() - started) / 1000,
    cpus: 2,
    node: process.version,
  };
  const json = `bench/results/compare-${stamp}.json`;
  writeFileSync(json, JSON.stringify({ meta, limits, rows, openLoop: checks, slo: slo?.data }, null, 2));
  const panels: ChartPanel[] = Object.keys(limits).map((model) => ({
    title: model,
    limit: limits[model],
    points: rows
      .filter((r) => r.model === model && r.protocol !== '-')
      .map((r) => ({ label: `${r.system} [${r.protocol}]`, throughput: r.inferencesPerSec, p99Ms: r.p99Ms })),
  }));
  const svg = `bench/results/compare-${stamp}.svg`;
  writeFileSync(
    svg,
    chartSvg(
      panels,
      `infergate bench:compare ${meta.date}${QUICK ? ' (quick)' : ''}, 2 cores, throughput vs p99 latency`,
    ),
  );
  console.log(`\nwrote ${json} and ${svg} (${meta.seconds.toFixed(0)} s)`);
}

await main();
