// One history run: a real server process (server-process.ts), N closed-loop clients (HTTP binary,
// HTTP JSON and gRPC) at a bounded rate behind a readiness-following gate (the load balancer), the
// seeded nemesis, then the offline check. Used by test/e2e/history.test.ts (short, every kind forced)
// and bench/history.ts (long).
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GrpcClient } from '../../src/client/grpc-client.js';
import { HttpClient } from '../../src/client/http-client.js';
import { seededRandom } from '../../src/core/random.js';
import { addConstModel, addModel, tempRepo } from '../e2e/models.js';
import { checkHistory, type Violation } from './checker.js';
import { classifyGrpc, classifyHttp } from './classify.js';
import { type FaultKind, type History, type Outcome, type Protocol, Recorder } from './history.js';
import { ALL_KINDS, effectsOf, type FaultEffect, type NemesisContext, planFaults, runNemesis } from './nemesis.js';
import { ServerSlot } from './server-process.js';
import { Gate, HookLog, sleep } from './waiting.js';

export interface RunOptions {
  seed: number;
  /** Load duration; a forced fault still running extends it. */
  seconds: number;
  /** Concurrent closed-loop clients (default 8, half HTTP, half gRPC). */
  clients?: number;
  /** Mean pause between one client's requests, ms (default 50): bounds the rate. */
  thinkMs?: number;
  /** Fault kinds to draw from (default: every kind this checkout supports). */
  kinds?: readonly FaultKind[];
  /** Each kind at least once, first (the CI test). */
  forceEach?: boolean;
  /** Pause before each fault, ms range (default 1500–4000). */
  gapMs?: readonly [number, number];
  log?: (line: string) => void;
  /** Also write the history here, one JSON event per line (for offline study). */
  historyFile?: string;
}

export interface Summary {
  seed: number;
  seconds: number;
  requests: number;
  /** ok / failed / refused (never reached the server) / info (ambiguous). */
  outcomes: Record<string, number>;
  /** Outcome counts by protocol and status, e.g. 'http 200', 'grpc 14', 'http 500 IG_ERR_WORKER_CRASHED'. */
  byStatus: Record<string, number>;
  faults: Partial<Record<FaultKind, number>>;
  effects: FaultEffect[];
  violations: number;
}

export interface RunResult {
  history: History;
  violations: Violation[];
  summary: Summary;
  kinds: readonly FaultKind[];
}

const LOAD = 'm';
const SLOW = 'slow';
const SLOW_CONST = 100;
const LOAD_TIMEOUT_MS = 5000;

/** The fault kinds this checkout can inject: the hang needs the `__test_hang__` worker hook. */
export async function availableKinds(): Promise<FaultKind[]> {
  const hooks: Record<string, unknown> = await import('../../src/backend/ort/hooks.js');
  return ALL_KINDS.filter((k) => k !== 'hang' || hooks['HANG_INPUT'] === '__test_hang__');
}

/** The expected output row of the run's const models: y = x + c, c = the version of 'm', 100 for 'slow'. */
export function referenceFor(latest: () => number) {
  return (model: string, version: string, input: readonly number[]): number[] | undefined => {
    const v = Number(version);
    if (!Number.isInteger(v) || v < 1) return undefined;
    const c = model === LOAD && v <= latest() ? v : model === SLOW && v === 1 ? SLOW_CONST : undefined;
    return c === undefined ? undefined : input.map((x) => Math.fround(x + c));
  };
}

/** The clients of one server process; renewed across a restart, the old ones closed at the end. */
class Connections {
  http!: HttpClient;
  grpc!: GrpcClient;
  probe!: HttpClient;
  readonly #old: Array<{ close(): unknown }> = [];

  constructor(private readonly slot: ServerSlot) {
    this.renew();
  }

  renew(): void {
    if (this.http) this.#old.push(this.http, this.grpc, this.probe);
    this.http = new HttpClient(`http://127.0.0.1:${this.slot.httpPort}`, { connections: 16 });
    this.grpc = new GrpcClient(`127.0.0.1:${this.slot.grpcPort}`);
    this.probe = new HttpClient(`http://127.0.0.1:${this.slot.httpPort}`, { connections: 1 });
  }

  async close(): Promise<void> {
    for (const c of [...this.#old, this.http, this.grpc, this.probe]) await Promise.resolve(c.close()).catch(() => {});
  }
}

export async function runHistory(o: RunOptions): Promise<RunResult> {
  const log = o.log ?? ((line: string) => console.log(line));
  log(`history: seed=${o.seed} seconds=${o.seconds}`);
  const kinds = o.kinds ?? (await availableKinds());
  const rec = new Recorder();
  const hooks = new HookLog();
  const gate = new Gate();
  const repo = tempRepo();
  let latest = 1;
  addModel(repo, LOAD, 1, addConstModel(1), modelConfig(true));
  addModel(repo, SLOW, 1, addConstModel(SLOW_CONST), modelConfig(false));
  const ctxRef: { current: string | undefined } = { current: undefined };
  const slot = await ServerSlot.create({
    repo,
    args: [
      '--model-control-mode',
      'poll',
      '--repository-poll-secs',
      '1',
      '--drain-secs',
      '1',
      '--exit-timeout-secs',
      '5',
    ],
    // Every batch of 'm' takes ≥ 5 ms, so a crash or hang finds a run in flight; 'slow' makes the burst queue.
    env: { INFERGATE_TEST_HOOKS: '1', INFERGATE_TEST_SLEEP_MS: `${LOAD}=5,${SLOW}=300` },
    onEvent: (e) => {
      hooks.push(e);
      const detail =
        e.event === 'worker-exit'
          ? `code ${e.code}`
          : e.event === 'crash-posted' || e.event === 'hang-posted'
            ? `inflight ${e.inflight}`
            : e.event === 'no-worker'
              ? `cmd ${e.cmd}`
              : e.path;
      rec.observe({ what: e.event, model: e.model, detail, ...(ctxRef.current ? { fault: ctxRef.current } : {}) });
    },
  });
  let stopped = false;
  const tasks: Array<Promise<unknown>> = [];
  let conns: Connections | undefined;
  try {
    await slot.start();
    conns = new Connections(slot);
    const c = conns;
    const counters = new Map<string, number>();
    const inputs = seededRandom(o.seed ^ 0x1dea);
    const request: NemesisContext['request'] = async (r) => {
      const n = (counters.get(r.client) ?? 0) + 1;
      counters.set(r.client, n);
      const id = `${r.client}-${n}`;
      const base = Math.floor(inputs() * 1000);
      const input = [base, base + 1, base + 2, base + 3];
      rec.invoke(
        { id, client: r.client, protocol: r.protocol, model: r.model, input, purpose: r.purpose },
        r.timeoutMs,
      );
      const out = await send(c, r.protocol, r.model, id, input, r.timeoutMs);
      rec.complete(id, out);
      return out;
    };
    // The load balancer: readiness every 20 ms; the first non-200 stops new traffic.
    tasks.push(
      (async () => {
        while (!stopped) {
          const st = await c.probe.status('/v2/health/ready').catch(() => 0);
          if (gate.set(st === 200))
            rec.observe({
              what: st === 200 ? 'gate-open' : 'gate-closed',
              detail: `readiness ${st}`,
              ...(ctxRef.current ? { fault: ctxRef.current } : {}),
            });
          await sleep(20);
        }
      })(),
    );
    if (!(await gate.waitOpen(30_000))) throw new Error('readiness never answered 200');
    const clients = o.clients ?? 8;
    const think = o.thinkMs ?? 50;
    for (let i = 0; i < clients; i++) {
      const rand = seededRandom((o.seed + 1) * 7919 + i);
      const grpc = i % 2 === 1;
      tasks.push(
        (async () => {
          while (!stopped) {
            await gate.waitOpen();
            if (stopped) break;
            const protocol: Protocol = grpc ? 'grpc' : rand() < 0.3 ? 'http-json' : 'http';
            await request({ client: `c${i}`, protocol, model: LOAD, timeoutMs: LOAD_TIMEOUT_MS, purpose: 'load' });
            await sleep(think * (0.5 + rand()));
          }
        })(),
      );
    }
    const ctx: NemesisContext = {
      rec,
      slot,
      gate,
      hooks,
      get current() {
        return ctxRef.current;
      },
      set current(v) {
        ctxRef.current = v;
      },
      request,
      renewConnections: () => c.renew(),
      addVersion: (model) => {
        latest++;
        writeVersion(repo, model, latest);
        return latest;
      },
      models: { load: LOAD, slow: SLOW },
      log,
    };
    const plan = planFaults(o.seed, {
      kinds,
      forceEach: o.forceEach ?? false,
      count: Math.ceil(o.seconds / 3) + kinds.length,
      gapMs: o.gapMs ?? [1500, 4000],
    });
    // The duration counts from the first request, not from the server's start.
    const until = rec.now() + o.seconds * 1000;
    await Promise.all([sleep(o.seconds * 1000), runNemesis(ctx, plan, until)]);
  } catch (err) {
    throw new Error(`${(err as Error).message}\n--- server log tail ---\n${slot.log().slice(-4000)}`);
  } finally {
    stopped = true;
    gate.release();
    await Promise.all(tasks);
    await slot.terminate().catch(() => slot.kill());
    await conns?.close();
    rmSync(repo, { recursive: true, force: true });
  }
  const history = rec.events;
  if (o.historyFile) writeFileSync(o.historyFile, history.map((e) => JSON.stringify(e)).join('\n') + '\n');
  const violations = checkHistory(history, { reference: referenceFor(() => latest) });
  const summary = summarize(o.seed, history, violations);
  log(formatSummary(summary, violations));
  return { history, violations, summary, kinds };
}

function modelConfig(batching: boolean): string {
  return batching
    ? 'max_batch_size: 8\ndynamic_batching { max_queue_delay_microseconds: 2000 }\ninstance_group [{ count: 1 }]\n'
    : 'max_batch_size: 8\ninstance_group [{ count: 1 }]\n';
}

/** Writes `<repo>/<model>/<version>/` beside and renames it in, so the poller never sees half a file. */
function writeVersion(repo: string, model: string, version: number): void {
  const tmp = mkdtempSync(join(tmpdir(), 'infergate-history-v-'));
  writeFileSync(join(tmp, 'model.onnx'), addConstModel(version));
  renameSync(tmp, join(repo, model, String(version)));
}

/** One request and its outcome, never throwing. HTTP aborts 5 s past the deadline: a hang shows in I1. */
async function send(
  c: Connections,
  protocol: Protocol,
  model: string,
  id: string,
  input: number[],
  timeoutMs: number,
): Promise<Outcome> {
  const tensor = { name: 'x', datatype: 'FP32' as const, shape: [1, 4], data: Float32Array.from(input) };
  try {
    const r =
      protocol === 'grpc'
        ? await c.grpc.infer(model, [tensor], { id, timeoutMs })
        : await c.http.infer(model, [tensor], {
            id,
            timeoutMs,
            binary: protocol === 'http',
            signal: AbortSignal.timeout(timeoutMs + 5000),
          });
    const out = r.outputs[0];
    return {
      type: 'ok',
      model: r.model,
      version: r.version,
      echoedId: r.id,
      output: out ? Array.from(out.data as Float32Array) : [],
    };
  } catch (err) {
    return protocol === 'grpc' ? classifyGrpc(err) : classifyHttp(err);
  }
}

export function summarize(seed: number, h: History, violations: readonly Violation[]): Summary {
  const protocols = new Map<string, Protocol>();
  const outcomes: Record<string, number> = { ok: 0, failed: 0, refused: 0, info: 0 };
  const byStatus: Record<string, number> = {};
  const faults: Partial<Record<FaultKind, number>> = {};
  const bump = (r: Record<string, number>, k: string) => {
    r[k] = (r[k] ?? 0) + 1;
  };
  let requests = 0;
  for (const e of h) {
    if (e.type === 'invoke') {
      requests++;
      protocols.set(e.id, e.protocol);
    } else if (e.type === 'fault' && e.phase === 'start') faults[e.kind] = (faults[e.kind] ?? 0) + 1;
    else if (e.type === 'ok' || e.type === 'fail' || e.type === 'info') {
      const p = protocols.get(e.id) === 'grpc' ? 'grpc' : 'http';
      if (e.type === 'ok') {
        bump(outcomes, 'ok');
        bump(byStatus, `${p} ${p === 'grpc' ? 0 : 200}`);
      } else if (e.type === 'info') {
        bump(outcomes, 'info');
        bump(byStatus, `${p} info ${e.code ?? ''}`.trim());
      } else {
        bump(outcomes, e.notAccepted ? 'refused' : 'failed');
        bump(byStatus, `${p} ${e.notAccepted ? 'refused' : e.status}${e.code && !e.notAccepted ? ` ${e.code}` : ''}`);
      }
    }
  }
  const last = h.at(-1)?.time ?? 0;
  return {
    seed,
    seconds: Math.round(last / 100) / 10,
    requests,
    outcomes,
    byStatus,
    faults,
    effects: effectsOf(h),
    violations: violations.length,
  };
}

export function formatSummary(s: Summary, violations: readonly Violation[]): string {
  const kv = (r: Record<string, number | undefined>) =>
    Object.entries(r)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, v]) => `${k}: ${v}`)
      .join(', ');
  const lines = [
    `history: seed=${s.seed} ran ${s.seconds} s, ${s.requests} requests`,
    `  outcomes: ${kv(s.outcomes)}`,
    `  by status: ${kv(s.byStatus)}`,
    `  faults: ${kv(s.faults)}`,
    ...s.effects.map((e) => `    ${e.fault}: ${e.observed ? 'observed' : 'NOT observed'} (${e.detail})`),
    `  violations: ${s.violations}`,
    ...violations.slice(0, 30).map((v) => `    ${v.invariant} ${v.id ?? ''} ${v.why}`),
  ];
  if (violations.length > 30) lines.push(`    … ${violations.length - 30} more`);
  return lines.join('\n');
}
