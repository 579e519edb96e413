// Full reliability case R12 (reliability.md §3.1): 2 replicas behind the local LB at
// min(500, 0.5 C) req/s (C measured first through the LB), baseline B with no restart, then A and B
// restarted for --cycles cycles with the LB's endpoint removal lagging SIGTERM by a seeded 0–2 s.
// Pass: 0 failed requests, 0 upstream errors (ECONNRESET / socket closed) at the LB, every SIGTERM
// exits 0, and p99 during the restarts ≤ 2 × B. HTTP only (gRPC through the LB is not covered).
// Prints the seed first and the verdict last; exits 1 unless it passes.
//   npm run bench:rolling-restart -- [--cycles 10] [--rate 500] [--concurrency 16] [--drain-secs 3]
//                                    [--max-lag-ms 2000] [--baseline-secs 10] [--capacity-secs 3] [--seed N]
// --capacity-secs 0 skips the capacity probe and runs at --rate as given.
// On one small machine the new process's startup (module loading, model load) takes CPU from the
// replica still serving, which a real cluster's separate nodes do not: read p99 with that in mind.
import { runRollingRestart } from '../test/harness/rolling-restart.js';

const argv = process.argv.slice(2);
const num = (name: string, def: number) => {
  const i = argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(argv[i + 1]) : def;
  if (!Number.isFinite(v) || v < 0) throw new Error(`--${name} must be a number ≥ 0`);
  return v;
};
const seed = num('seed', Date.now() % 1_000_000);
const o = {
  seed,
  cycles: num('cycles', 10),
  rate: num('rate', 500),
  capacityMs: num('capacity-secs', 3) * 1000,
  concurrency: num('concurrency', 16),
  drainSecs: num('drain-secs', 3),
  maxLagMs: num('max-lag-ms', 2000),
  baselineMs: num('baseline-secs', 10) * 1000,
  settleMs: 1000,
  log: (l: string) => console.log(l),
};
if (o.maxLagMs >= o.drainSecs * 1000) console.log('warning: the removal lag can exceed the drain period');
console.log(`R12 rolling restart: seed ${seed}, ${o.cycles} cycles, drain ${o.drainSecs} s, lag 0–${o.maxLagMs} ms`);

const r = await runRollingRestart(o);
const ms = (v: number) => `${v.toFixed(1)} ms`;
const errors: Record<string, number> = {};
for (const s of Object.values(r.lbStats))
  for (const [code, n] of Object.entries(s.errors)) errors[code] = (errors[code] ?? 0) + n;
const resets = (errors['ECONNRESET'] ?? 0) + (errors['UND_ERR_SOCKET'] ?? 0);
const p99ok = r.duringRestarts.p99 <= 2 * r.baseline.p99;
console.log('');
console.log(`rate            ${r.rate.toFixed(0)} req/s asked, ${r.achievedRate.toFixed(0)} req/s started`);
console.log(`requests        ${r.started} started, ${r.answered} answered, ${r.failures.length} failed`);
console.log(`restarts        ${r.exitCodes.length}, exit codes ${[...new Set(r.exitCodes.map((e) => e.code))]}`);
console.log(`LB              ${JSON.stringify(r.lbStats)}`);
console.log(`upstream errors ${JSON.stringify(errors)} (ECONNRESET / socket closed: ${resets})`);
console.log(`baseline B      n=${r.baseline.n} p50 ${ms(r.baseline.p50)} p99 ${ms(r.baseline.p99)}`);
console.log(`during restarts n=${r.duringRestarts.n} p50 ${ms(r.duringRestarts.p50)} p99 ${ms(r.duringRestarts.p99)}`);
console.log(`p99 ≤ 2 × B     ${p99ok ? 'yes' : 'no'} (${(r.duringRestarts.p99 / r.baseline.p99).toFixed(2)} × B)`);
for (const f of r.failures.slice(0, 20)) console.log(`failed at ${ms(f.at)} [${f.phase}] ${f.status ?? ''} ${f.error}`);
for (const f of r.upstreamFailures.slice(0, 20))
  console.log(`upstream ${f.endpoint} ${f.method} ${f.path}: ${f.code} ${f.message}`);
const pass =
  r.failures.length === 0 &&
  r.upstreamFailures.length === 0 &&
  r.answered === r.started &&
  r.exitCodes.every((e) => e.code === 0) &&
  p99ok;
console.log(`R12 ${pass ? 'PASS' : 'FAIL'} (seed ${seed})`);
process.exit(pass ? 0 : 1);
