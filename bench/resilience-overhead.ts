// What the resilience stages cost per request (#15: the breaker and deadline stages together ≤ 5 µs
// on the MLP), two ways:
//   micro: ns per `await router.infer(…)` through the real Router (every stage: observe, resolve,
//     deadline, fallback, breaker, validate, schedule) over a scheduler that answers at once, for a
//     digits-MLP-shaped request (1 × 784 FP32) to (a) a version without a resilience section,
//     (b) one with a circuit breaker and a default deadline, (c) (b) plus a fallback chain (the
//     primary's inputs are then copied once per call, so a step has its own). Rounds alternate
//     a, b, c so the machine's drift hits each alike; medians of the per-round means.
//   end to end: one server process serving two copies of the digits MLP, `plain` (no section) and
//     `guarded` (breaker + default deadline), HTTP binary at concurrency 1, calls alternating
//     between the two; medians over rounds of the per-round p50 difference.
//   --control: the end-to-end `guarded` copy has no resilience section either, which shows what two
//     copies of one model differ by on their own (the resolution of the end-to-end figure).
//   npm run bench:resilience [-- --rounds 15 --calls 200000 --e2e-rounds 15 --per-round 400 --skip-e2e --control]
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Table from 'cli-table3';
import { HttpClient } from '../src/client/http-client.js';
import { BREAKER_DEFAULTS } from '../src/config/resilience.js';
import { callContext, type InferRequest, type ResilienceSpec, type Tensor } from '../src/core/index.js';
import { createLogger } from '../src/observability/logger.js';
import { StatsRegistry } from '../src/observability/stats-registry.js';
import type { VersionHandle } from '../src/repository/types.js';
import { Router } from '../src/router/router.js';
import {
  argValue,
  handlesRepo,
  instantScheduler,
  median,
  mlpHandle,
  quantile,
  startServerProcess,
  stopProcess,
} from './lib.js';

const argv = process.argv.slice(2);
const value = argValue;
const ROUNDS = Number(value('rounds', '15'));
const CALLS = Number(value('calls', '200000'));
const E2E_ROUNDS = Number(value('e2e-rounds', '15'));
const PER_ROUND = Number(value('per-round', '400'));
const SKIP_E2E = argv.includes('--skip-e2e');
const CONTROL = argv.includes('--control');
const BUDGET_NS = 5000;

// --- micro -------------------------------------------------------------------------------------

const OUT: Tensor = { name: 'probabilities', datatype: 'FP32', shape: [1, 10], data: new Float32Array(10) };
const instant = instantScheduler(OUT);

function handle(model: string, resilience?: ResilienceSpec): VersionHandle {
  return mlpHandle(model, instant, 'probabilities', resilience ? { resilience } : {});
}

const guarded: ResilienceSpec = {
  defaultTimeoutMs: 1000,
  breaker: BREAKER_DEFAULTS,
  fallback: [],
  fallbackReserve: 0.25,
};
const handles = [
  handle('plain'),
  handle('guarded', guarded),
  handle('chained', { ...guarded, fallback: [{ kind: 'model', model: 'plain' }] }),
];
const repository = handlesRepo(handles);
const router = new Router({
  repository,
  stats: new StatsRegistry(),
  logger: createLogger({ level: 'silent', format: 'json' }),
  serverName: 'bench',
  serverVersion: '0',
  extensions: [],
  serving: () => true,
});
const image = new Float32Array(784).fill(0.5);
const request = (model: string): InferRequest => ({
  model,
  inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 784], data: image }],
  parameters: {},
});

async function nsPerCall(model: string, calls: number): Promise<number> {
  const req = request(model);
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < calls; i++) await router.infer(req, callContext({ protocol: 'http' }));
  return Number(process.hrtime.bigint() - t0) / calls;
}

async function micro() {
  const cases = ['plain', 'guarded', 'chained'];
  for (const c of cases) await nsPerCall(c, 20_000); // warm the JIT on every path
  const per: Record<string, number[]> = { plain: [], guarded: [], chained: [] };
  for (let r = 0; r < ROUNDS; r++)
    for (const c of r % 2 === 0 ? cases : [...cases].reverse()) per[c]!.push(await nsPerCall(c, CALLS));
  const med = (c: string) => median([...per[c]!].sort((a, b) => a - b));
  const added = (c: string) => median(per[c]!.map((v, i) => v - per['plain']![i]!).sort((a, b) => a - b));
  const t = new Table({
    head: ['micro (router, instant scheduler)', 'ns / call (median)', 'added vs plain', 'budget'],
  });
  t.push(['plain (no resilience section)', med('plain').toFixed(0), '', '']);
  t.push(['breaker + default deadline', med('guarded').toFixed(0), added('guarded').toFixed(0), `≤ ${BUDGET_NS}`]);
  t.push(['+ fallback chain (input copy)', med('chained').toFixed(0), added('chained').toFixed(0), '']);
  console.log(t.toString());
  return added('guarded');
}

// --- end to end --------------------------------------------------------------------------------

async function e2e() {
  const dir = mkdtempSync(join(tmpdir(), 'ig-bench-res-'));
  const config = readFileSync('examples/models/digits/config.pbtxt', 'utf8');
  for (const [name, extra] of [
    ['plain', ''],
    // --control: both copies plain, to see what two copies of one model differ by on their own.
    ['guarded', CONTROL ? '' : 'resilience {\n  default_timeout_ms: 1000\n  circuit_breaker { }\n}\n'],
  ] as const) {
    cpSync('examples/models/digits', join(dir, name), { recursive: true });
    writeFileSync(join(dir, name, 'config.pbtxt'), `${config.replace('name: "digits"', `name: "${name}"`)}\n${extra}`);
  }
  const port = 18960;
  const child = await startServerProcess(
    [dir, '--http-port', String(port), '--grpc-port', String(port + 1), '--metrics-port', '0', '--log-level', 'warn'],
    port,
  );
  const client = new HttpClient(`http://127.0.0.1:${port}`);
  const input: Tensor = { name: 'input', datatype: 'FP32', shape: [1, 784], data: image };
  try {
    for (let i = 0; i < 500; i++) {
      await client.infer('plain', [input], { binary: true });
      await client.infer('guarded', [input], { binary: true });
    }
    const diffs: number[] = [];
    const p50s: Record<string, number[]> = { plain: [], guarded: [] };
    for (let r = 0; r < E2E_ROUNDS; r++) {
      const ms: Record<string, number[]> = { plain: [], guarded: [] };
      for (let i = 0; i < PER_ROUND; i++)
        for (const m of (i + r) % 2 === 0 ? ['plain', 'guarded'] : ['guarded', 'plain']) {
          const t0 = performance.now();
          await client.infer(m, [input], { binary: true });
          ms[m]!.push(performance.now() - t0);
        }
      const p50 = (m: string) =>
        quantile(
          [...ms[m]!].sort((a, b) => a - b),
          0.5,
        );
      p50s['plain']!.push(p50('plain'));
      p50s['guarded']!.push(p50('guarded'));
      diffs.push((p50('guarded') - p50('plain')) * 1000);
    }
    const t = new Table({ head: ['end to end (HTTP binary, c=1)', 'p50 ms (median of rounds)'] });
    t.push(['plain', median(p50s['plain']!.sort((a, b) => a - b)).toFixed(3)]);
    t.push(['guarded (breaker + default deadline)', median(p50s['guarded']!.sort((a, b) => a - b)).toFixed(3)]);
    t.push(['added, µs (median of per-round differences)', median(diffs.sort((a, b) => a - b)).toFixed(1)]);
    console.log(t.toString());
  } finally {
    await client.close();
    await stopProcess(child);
    rmSync(dir, { recursive: true, force: true });
  }
}

const added = await micro();
console.log(
  `breaker + deadline stages: ${added.toFixed(0)} ns per request (budget ${BUDGET_NS} ns): ${added <= BUDGET_NS ? 'PASS' : 'FAIL'}`,
);
if (!SKIP_E2E) await e2e();
