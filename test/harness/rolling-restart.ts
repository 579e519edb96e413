// Reliability case R12 (reliability.md §3.1), shared by the CI test and the bench: two real replicas
// behind the local LB under paced load, restarted A then B for some cycles, the way a Kubernetes
// rolling update does it:
//   SIGTERM → the LB removes the endpoint a seeded random lag later (endpoint propagation; the lag must
//   stay below --drain-secs, or traffic reaches a closed listener) → the process drains and exits 0 →
//   a new process on the same port → it joins the LB only once ready (models loaded) and warm.
// The load's client talks to the LB only, so it never retries; the LB retries connect-refused only.
import { rmSync } from 'node:fs';
import { HttpClient } from '../../src/client/http-client.js';
import { seededRandom } from '../../src/core/random.js';
import { addConstModel, addModel, tempRepo } from '../e2e/models.js';
import { type EndpointStats, LocalLb, type UpstreamFailure } from './local-lb.js';
import { type LoadFailure, startPacedLoad } from './paced-load.js';
import { Replica } from './replica.js';

export interface RollingRestartOptions {
  seed: number;
  cycles: number;
  /** Requests per second through the LB, over `concurrency` workers. */
  rate: number;
  /**
   * When > 0, first measure the capacity C (closed loop, 4 × concurrency workers, this long) and
   * run at min(rate, 0.5 C), as R12 asks for min(500, 0.5 C).
   */
  capacityMs: number;
  concurrency: number;
  drainSecs: number;
  /** LB removal lags SIGTERM by a uniform random 0..maxLagMs. */
  maxLagMs: number;
  /** Load with no restart first, for the baseline B (0 = none). */
  baselineMs: number;
  /** Both replicas serving between two restarts. */
  settleMs: number;
  log: (line: string) => void;
}

export interface LatencySummary {
  n: number;
  p50: number;
  p99: number;
}

export interface RollingRestartReport {
  started: number;
  answered: number;
  failures: LoadFailure[];
  upstreamFailures: UpstreamFailure[];
  lbStats: Record<string, EndpointStats>;
  /** Exit code of every SIGTERM'd process, in order. */
  exitCodes: Array<{ replica: string; code: number | null }>;
  lagsMs: number[];
  baseline: LatencySummary;
  /** Every request started from the first SIGTERM to the last rejoin. */
  duringRestarts: LatencySummary;
  /** Requests per second actually started over the whole run, and the rate asked for. */
  achievedRate: number;
  rate: number;
  /** Measured capacity in requests per second (NaN when not measured). */
  capacity: number;
}

const MODEL = 'fast';
const C = 3;

export function summarize(ms: number[]): LatencySummary {
  const s = [...ms].sort((a, b) => a - b);
  const q = (p: number) => (s.length === 0 ? Number.NaN : s[Math.min(s.length - 1, Math.ceil(p * s.length) - 1)]!);
  return { n: s.length, p50: q(0.5), p99: q(0.99) };
}

/** One inference that checks its answer (y = x + 3): a wrong body counts as a failure too. */
async function inferChecked(client: HttpClient, k: number): Promise<void> {
  const x = Float32Array.from([k, k + 1, k + 2, k + 3]);
  const r = await client.infer(MODEL, [{ name: 'x', datatype: 'FP32', shape: [1, 4], data: x }]);
  const y = Array.from(r.outputs[0]!.data as Float32Array);
  if (y.some((v, i) => v !== x[i]! + C)) throw new Error(`wrong answer for x=${k}: ${y}`);
}

export async function runRollingRestart(o: RollingRestartOptions): Promise<RollingRestartReport> {
  const rand = seededRandom(o.seed);
  const repo = tempRepo();
  addModel(repo, MODEL, 1, addConstModel(C));
  const args = [repo, '--drain-secs', String(o.drainSecs), '--log-format', 'json'];
  const replicas = [await Replica.create('A', args), await Replica.create('B', args)];
  const lb = new LocalLb();
  const client = new HttpClient(await lb.listen(), { connections: o.concurrency });
  let phase = 'starting';
  const exitCodes: RollingRestartReport['exitCodes'] = [];
  const lagsMs: number[] = [];
  let load: ReturnType<typeof startPacedLoad> | undefined;

  // "New instances join only after models are loaded and warm": ready, then a few direct calls.
  const join = async (r: Replica) => {
    await r.start();
    const direct = new HttpClient(`http://${r.endpoint}`, { connections: 1 });
    for (let i = 0; i < 5; i++) await inferChecked(direct, i);
    await direct.close();
    lb.add(r.endpoint);
  };

  try {
    await Promise.all(replicas.map(join));
    let k = 0;
    let capacity = Number.NaN;
    let rate = o.rate;
    if (o.capacityMs > 0) {
      const probe = startPacedLoad({
        rate: Number.POSITIVE_INFINITY,
        concurrency: o.concurrency * 4,
        phase: () => 'capacity',
        send: () => inferChecked(client, k++ % 1000),
      });
      await new Promise((r) => setTimeout(r, o.capacityMs));
      await probe.stop();
      if (probe.failures.length > 0) throw new Error(`capacity probe failed: ${probe.failures[0]!.error}`);
      capacity = probe.answered() / (o.capacityMs / 1000);
      rate = Math.min(o.rate, 0.5 * capacity);
      o.log(
        `capacity C = ${capacity.toFixed(0)} req/s (closed loop, ${o.concurrency * 4} workers): rate ${rate.toFixed(0)} req/s`,
      );
    }
    load = startPacedLoad({
      rate,
      concurrency: o.concurrency,
      phase: () => phase,
      send: () => inferChecked(client, k++ % 1000),
    });
    const t0 = performance.now();
    const mark = (p: string) => {
      phase = p;
      o.log(`${((performance.now() - t0) / 1000).toFixed(2)}s  ${p}`);
    };
    mark('baseline');
    await new Promise((r) => setTimeout(r, o.baselineMs));
    for (let c = 1; c <= o.cycles; c++) {
      for (const r of replicas) {
        const at = `cycle ${c} ${r.name}`;
        const lag = Math.round(rand() * o.maxLagMs);
        lagsMs.push(lag);
        mark(`${at}: SIGTERM, draining, still in the LB (removal in ${lag} ms)`);
        const exit = r.stop('SIGTERM');
        await lb.remove(r.endpoint, lag);
        mark(`${at}: draining, out of the LB`);
        const code = await exit;
        exitCodes.push({ replica: r.name, code });
        mark(`${at}: exited ${code}, new process starting on the same port`);
        await join(r);
        mark(`${at}: rejoined the LB`);
        await new Promise((res) => setTimeout(res, o.settleMs));
      }
    }
    mark('done');
    await load.stop();
    const elapsed = (performance.now() - t0) / 1000;
    const { samples } = load;
    const during = samples.filter((s) => s.phase.startsWith('cycle')).map((s) => s.ms);
    return {
      started: load.started(),
      answered: load.answered(),
      failures: load.failures,
      upstreamFailures: lb.failures,
      lbStats: lb.stats(),
      exitCodes,
      lagsMs,
      baseline: summarize(samples.filter((s) => s.phase === 'baseline').map((s) => s.ms)),
      duringRestarts: summarize(during),
      achievedRate: load.started() / elapsed,
      rate,
      capacity,
    };
  } catch (err) {
    throw new Error(`${(err as Error).message}\n--- A ---\n${replicas[0]!.log()}\n--- B ---\n${replicas[1]!.log()}`);
  } finally {
    await load?.stop();
    await client.close().catch(() => {});
    await lb.close();
    // No drain for the final stop: nothing routes to them any more.
    await Promise.all(replicas.map((r) => r.stop('SIGINT', 10_000)));
    rmSync(repo, { recursive: true, force: true });
  }
}
