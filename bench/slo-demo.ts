// The SLO-mode demo (issue 3 item 6): a bursty open-loop load (calm / burst alternating) with
// mixed priorities against the same model with and without our latency_objective section.
// With it, p99 of what is served should stay near the objective and the shedding should fall on
// the lowest priority (level 2); without it the queue absorbs each burst and the tail grows.
import Table from 'cli-table3';
import { burstyRate, createTarget, type LoadResult, type RunSummary, runLoad } from '../src/loadgen/index.js';
import { serveBench, stopProcess } from './lib.js';
import { type BenchModel, writeServed } from './models.js';

/** What the demo prints and records. */
export interface SloDemoResult {
  text: string;
  data: unknown;
}

interface Ports {
  http: number;
  grpc: number;
}

async function run(
  url: string,
  name: string,
  m: BenchModel,
  mode: 'closed' | 'bursty',
  o: { cap?: number; seconds: number; periodMs?: number; boundMs?: number },
): Promise<LoadResult> {
  const inputs = [{ name: m.input.name, datatype: m.input.datatype, shape: [1, ...m.input.dims] }];
  const variants = [{ priority: 1 }, { priority: 2 }];
  const target = createTarget({
    protocol: 'http-binary',
    url,
    model: name,
    inputs,
    variants,
    connections: mode === 'closed' ? 16 : 256,
  });
  try {
    return await runLoad(target, {
      mode:
        mode === 'closed'
          ? { kind: 'closed', concurrency: o.cap ?? 1 }
          : { kind: 'open', profile: burstyRate(0.5 * o.cap!, 2 * o.cap!, o.periodMs!), seed: 11 },
      durationMs: o.seconds * 1000,
      warmupMs: 1000,
      batch: 1,
      variants: 2,
      latencyBoundMs: o.boundMs,
    });
  } finally {
    await target.close();
  }
}

/** Calibrates on the plain two-priority copy, then runs the same bursts against both copies. */
export async function runSloDemo(m: BenchModel, opts: { quick: boolean; ports: Ports }): Promise<SloDemoResult> {
  process.stderr.write(`\n== SLO demo on ${m.name}\n`);
  const url = `http://127.0.0.1:${opts.ports.http}`;
  const prio = await writeServed(m, { suffix: '_prio', batching: true, priorities: true });
  const serve = (models: string[]) => serveBench(models, opts.ports);
  let server = await serve([prio]);
  let single: LoadResult;
  let cap: LoadResult;
  try {
    single = await run(url, prio, m, 'closed', { cap: 1, seconds: 2 });
    cap = await run(url, prio, m, 'closed', { cap: 2 * 2 * m.maxBatch, seconds: 3 });
  } finally {
    await stopProcess(server);
  }
  const objectiveMs = Math.max(20, 5 * single.total.latencyMs.p50);
  const slo = await writeServed(m, {
    suffix: '_slo',
    batching: true,
    priorities: true,
    objectiveUs: objectiveMs * 1000,
  });
  const capacity = cap.total.throughput;
  const seconds = opts.quick ? 8 : 24;
  const periodMs = opts.quick ? 2000 : 4000;
  server = await serve([prio, slo]);
  const results: Record<string, LoadResult> = {};
  try {
    for (const name of [prio, slo])
      results[name] = await run(url, name, m, 'bursty', { cap: capacity, seconds, periodMs, boundMs: objectiveMs });
  } finally {
    await stopProcess(server);
  }
  return report(m, { objectiveMs, capacity, singleMs: single.total.latencyMs.p50, seconds, periodMs }, results);
}

function report(
  m: BenchModel,
  p: { objectiveMs: number; capacity: number; singleMs: number; seconds: number; periodMs: number },
  results: Record<string, LoadResult>,
): SloDemoResult {
  const t = new Table({
    style: { head: [], border: [] },
    head: [
      'model copy',
      'priority',
      'requests',
      'ok',
      'shed (503)',
      'other errors',
      'p50 ms',
      'p99 ms',
      `goodput ≤ ${p.objectiveMs.toFixed(0)} ms /s`,
    ],
  });
  const cells = (name: string, label: string, s: RunSummary) => {
    const shed = s.errors.http_503 ?? 0;
    return [
      name,
      label,
      String(s.requests),
      String(s.ok),
      String(shed),
      String(s.errorCount - shed),
      s.latencyMs.p50.toFixed(1),
      s.latencyMs.p99.toFixed(1),
      (s.goodput?.perSec ?? 0).toFixed(1),
    ];
  };
  for (const [name, r] of Object.entries(results)) {
    for (const [v, s] of Object.entries(r.byVariant ?? { 0: r.total })) t.push(cells(name, String(Number(v) + 1), s));
    // Calm and burst phases separately: the objective matters most while a burst lasts.
    for (const [phase, s] of Object.entries(r.byPhase ?? {})) t.push(cells(name, `all, ${phase}`, s));
    t.push(cells(name, 'all', r.total));
  }
  const head = `SLO demo (${m.name}): bursts of ${(2 * p.capacity).toFixed(0)} req/s and calm ${(0.5 * p.capacity).toFixed(0)} req/s, ${p.periodMs / 1000} s each, ${p.seconds} s measured; priority 1 and 2 alternate; objective p99 ≤ ${p.objectiveMs.toFixed(0)} ms (5× single-request ${p.singleMs.toFixed(1)} ms); capacity ${p.capacity.toFixed(1)} req/s`;
  const data = { ...p, results };
  return { text: `${head}\n${t.toString()}`, data };
}
