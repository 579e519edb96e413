// The nemesis: a seeded schedule of faults (planFaults, pure) and the faults themselves, each
// recorded in the history with its start and end. Faults run one at a time, with seeded gaps; a
// fault's window is what the checker uses to explain failures, so each one ends only when its effect
// is over (the worker replaced, the new version served, the restarted server ready again).
import { seededRandom } from '../../src/core/random.js';
import type { FaultEvent, FaultKind, History, InvokeEvent, Outcome, Protocol, Recorder } from './history.js';
import type { ServerSlot } from './server-process.js';
import { type Gate, type HookLog, sleep } from './waiting.js';

export const ALL_KINDS: readonly FaultKind[] = ['crash', 'hang', 'swap', 'restart', 'burst'];

export interface PlannedFault {
  kind: FaultKind;
  /** Wait before the fault starts, ms. */
  gapMs: number;
  /** Requests with a short deadline in a burst (burst only). */
  size: number;
  /** Part of the forced prefix: runs even when the duration is already spent. */
  forced: boolean;
}

export interface PlanOptions {
  kinds: readonly FaultKind[];
  /** Each kind once first (in a seeded order), so a short run still sees every kind. */
  forceEach: boolean;
  /** Faults planned in all (the executor stops when the run's time is up). */
  count: number;
  gapMs: readonly [number, number];
}

/** The schedule for a seed: the same seed always gives the same faults in the same order. */
export function planFaults(seed: number, o: PlanOptions): PlannedFault[] {
  const rand = seededRandom(seed ^ 0x5eed);
  const int = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));
  const forced = o.forceEach ? [...o.kinds] : [];
  for (let i = forced.length - 1; i > 0; i--) {
    const j = int(0, i);
    [forced[i], forced[j]] = [forced[j]!, forced[i]!];
  }
  const kinds: Array<{ kind: FaultKind; forced: boolean }> = forced.map((kind) => ({ kind, forced: true }));
  while (kinds.length < Math.max(o.count, forced.length) && o.kinds.length > 0)
    kinds.push({ kind: o.kinds[int(0, o.kinds.length - 1)]!, forced: false });
  return kinds.map(({ kind, forced }) => ({ kind, forced, gapMs: int(o.gapMs[0], o.gapMs[1]), size: int(3, 8) }));
}

/** One request the nemesis sends (recorded like any other). */
export interface RequestSpec {
  client: string;
  protocol: Protocol;
  model: string;
  timeoutMs: number;
  purpose: InvokeEvent['purpose'];
}

/** What the faults act through; run.ts provides it. */
export interface NemesisContext {
  rec: Recorder;
  slot: ServerSlot;
  /** Open while readiness says 200 (the load balancer's view). */
  gate: Gate;
  hooks: HookLog;
  /** The fault in progress (hook events are recorded against it). */
  current: string | undefined;
  request(r: RequestSpec): Promise<Outcome>;
  /** New client connections for a new server process. */
  renewConnections(): void;
  /** Writes the model's next version (a different constant) into the repository; returns its number. */
  addVersion(model: string): number;
  /** The model under load, and the slow one that bursts queue behind. */
  models: { load: string; slow: string };
  log(line: string): void;
}

/** Runs the plan until `untilMs` on the recorder's clock (forced faults run regardless). */
export async function runNemesis(ctx: NemesisContext, plan: readonly PlannedFault[], untilMs: number): Promise<void> {
  for (const f of plan) {
    if (!f.forced && ctx.rec.now() + f.gapMs > untilMs) return;
    await sleep(f.gapMs);
    ctx.log(`fault ${f.kind} at ${(ctx.rec.now() / 1000).toFixed(1)} s`);
    await FAULTS[f.kind](ctx, f);
    ctx.current = undefined;
  }
}

type Fault = (ctx: NemesisContext, f: PlannedFault) => Promise<void>;

/** Crash or hang: the hook lands while a run is in flight; the window ends when a new worker is ready. */
const workerFault =
  (kind: 'crash' | 'hang'): Fault =>
  async (ctx) => {
    const model = ctx.models.load;
    const fault = ctx.rec.fault(kind, `model ${model}`);
    ctx.current = fault.id;
    const from = ctx.hooks.mark();
    ctx.slot.command({ cmd: kind, model });
    const posted = await ctx.hooks.waitFor(
      (e) => (e.event === `${kind}-posted` || e.event === 'no-worker') && e.model === model,
      from,
      15_000,
    );
    if (posted === undefined || posted.event.event === 'no-worker') {
      fault.end(posted === undefined ? 'no run came to carry the hook' : 'no ready worker');
      return;
    }
    const ready = await ctx.hooks.waitFor(
      (e) => e.event === 'worker-ready' && e.model === model,
      posted.index + 1,
      30_000,
    );
    fault.end(ready === undefined ? 'worker not replaced within 30 s' : 'worker replaced');
  };

/** Poll-mode swap: write version N+1, probe until it answers (swap-complete). */
const swap: Fault = async (ctx) => {
  const model = ctx.models.load;
  const version = ctx.addVersion(model);
  const fault = ctx.rec.fault('swap', `model ${model} v${version}`);
  ctx.current = fault.id;
  const until = performance.now() + 30_000;
  while (performance.now() < until) {
    await ctx.gate.waitOpen(1000);
    const out = await ctx.request({ client: 'probe', protocol: 'http', model, timeoutMs: 5000, purpose: 'probe' });
    if (out.type === 'ok' && out.version === String(version)) {
      ctx.rec.observe({ what: 'swap-complete', model, version: String(version), fault: fault.id });
      fault.end(`v${version} served`);
      return;
    }
    await sleep(50);
  }
  fault.end(`v${version} not served within 30 s`);
};

/**
 * SIGTERM, wait for the exit, start a new process on the same ports. The load balancer (run.ts's
 * readiness prober) closes the gate on the first 503 and opens it once the new process is ready.
 */
const restart: Fault = async (ctx) => {
  const fault = ctx.rec.fault('restart', `incarnation ${ctx.slot.incarnations}`);
  ctx.current = fault.id;
  const code = await ctx.slot.terminate();
  ctx.rec.observe({ what: 'server-exit', detail: `code ${code}`, fault: fault.id });
  ctx.renewConnections();
  await ctx.slot.start();
  ctx.rec.observe({ what: 'server-ready', fault: fault.id });
  const open = await ctx.gate.waitOpen(30_000);
  fault.end(open ? 'serving again' : 'readiness not 200 within 30 s');
};

/**
 * A request to the slow model, then `size` requests with a 100 ms deadline behind it: they pass
 * their deadline in the queue and must be answered 504 / DEADLINE_EXCEEDED by then (I1), not run.
 */
const burst: Fault = async (ctx, f) => {
  const model = ctx.models.slow;
  const fault = ctx.rec.fault('burst', `${f.size} requests with 100 ms deadlines behind a slow one`);
  ctx.current = fault.id;
  const head = ctx.request({ client: 'burst', protocol: 'http', model, timeoutMs: 5000, purpose: 'fault' });
  await sleep(30);
  const tail = Array.from({ length: f.size }, (_, i) =>
    ctx.request({ client: 'burst', protocol: i % 2 ? 'grpc' : 'http', model, timeoutMs: 100, purpose: 'fault' }),
  );
  await Promise.all([head, ...tail]);
  fault.end();
};

const FAULTS: Record<FaultKind, Fault> = {
  crash: workerFault('crash'),
  hang: workerFault('hang'),
  swap,
  restart,
  burst,
};

/** What a fault visibly did, read back from the history. */
export interface FaultEffect {
  fault: string;
  kind: FaultKind;
  /** The fault had the effect it exists for (see effectsOf). */
  observed: boolean;
  detail: string;
}

/**
 * Per fault: crash → its hook landed on a run in flight, the worker exited, a new one became ready
 * and at least one request failed IG_ERR_WORKER_CRASHED; hang → the same with IG_ERR_WORKER_HUNG;
 * swap → the new version was served; restart → the old process exited 0 and a new one was ready;
 * burst → at least one of its requests failed with a deadline status.
 */
export function effectsOf(h: History): FaultEffect[] {
  const out: FaultEffect[] = [];
  const byId = new Map<string, InvokeEvent>();
  for (const e of h) if (e.type === 'invoke') byId.set(e.id, e);
  for (const s of h) {
    if (s.type !== 'fault' || s.phase !== 'start') continue;
    const end = h.find((e): e is FaultEvent => e.type === 'fault' && e.phase === 'end' && e.fault === s.fault);
    const endTime = end?.time ?? Number.POSITIVE_INFINITY;
    const seen = (what: string, detail?: RegExp) =>
      h.some(
        (e) =>
          e.type === 'observe' && e.fault === s.fault && e.what === what && (!detail || detail.test(e.detail ?? '')),
      );
    const failures = (pred: (status: number, code: string | undefined, inv: InvokeEvent) => boolean) =>
      h.filter((e) => {
        if (e.type !== 'fail' || e.time < s.time || e.time > endTime + 1000) return false;
        const inv = byId.get(e.id);
        return inv !== undefined && pred(e.status, e.code, inv);
      }).length;
    let observed = false;
    let detail = end === undefined ? 'did not end' : (end.detail ?? '');
    if (s.kind === 'crash' || s.kind === 'hang') {
      const code = s.kind === 'crash' ? 'IG_ERR_WORKER_CRASHED' : 'IG_ERR_WORKER_HUNG';
      const n = failures((_, c) => c === code);
      const landed = seen(`${s.kind}-posted`, /inflight [1-9]/);
      const exited = s.kind === 'hang' || seen('worker-exit', /code 70/);
      observed = landed && exited && seen('worker-ready') && n > 0;
      detail += `; ${n} × ${code}${landed ? '' : '; the hook found no run in flight'}`;
    } else if (s.kind === 'swap') observed = seen('swap-complete');
    else if (s.kind === 'restart') observed = seen('server-exit', /code 0/) && seen('server-ready');
    else {
      const n = failures((st, _, inv) => inv.purpose === 'fault' && (inv.protocol === 'grpc' ? st === 4 : st === 504));
      observed = n > 0;
      detail += `${detail ? '; ' : ''}${n} deadline failures`;
    }
    out.push({ fault: s.fault, kind: s.kind, observed, detail });
  }
  return out;
}
