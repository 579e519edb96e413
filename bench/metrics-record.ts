// Cost of recording one request in the statistics/metrics counters (the only per-request work
// metrics add to the hot path; Prometheus reads the same counters at scrape time). Compare the
// figure with the server's CPU per request (bench/metrics-overhead.ts prints it).
//   node --import tsx bench/metrics-record.ts
import { StatsRegistry } from '../src/observability/stats-registry.js';

const registry = new StatsRegistry();
const stats = registry.get('digits', 1);
const timing = { inputNs: 4000, inferNs: 60000, outputNs: 3000 };
const N = 2_000_000;
const rounds: number[] = [];
for (let r = 0; r < 5; r++) {
  const t0 = performance.now();
  for (let i = 0; i < N; i++) {
    stats.execution(1, timing);
    stats.success(1_700_000_000_000 + i, 300_000 + (i & 1023), 20_000, 1, timing, 'http');
  }
  rounds.push(((performance.now() - t0) * 1e6) / N);
}
rounds.sort((a, b) => a - b);
console.log(
  `recording one request (success + execution): median ${rounds[2]!.toFixed(0)} ns over ${rounds.length} rounds of ${N}`,
);
