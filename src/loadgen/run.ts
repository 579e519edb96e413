/**
 * The two load drivers. Closed loop: N clients, each sends its next request when the previous
 * answer arrives (measures capacity; hides queueing by design). Open loop: arrivals on a Poisson
 * schedule whatever the server does, and each latency counts from the *scheduled* send time, so
 * a server (or generator) that falls behind shows it in the tail instead of slowing the load.
 * Requests scheduled during the warm-up are sent but not recorded; throughput is per measured window.
 */
import { cpuShare, Recorder, type RunSummary, summarize } from './result.js';
import { ArrivalSchedule, type RateProfile, seededRng } from './schedule.js';
import type { Target } from './target.js';

/** How load is offered. */
export type LoadMode =
  | { kind: 'closed'; concurrency: number }
  | { kind: 'open'; profile: RateProfile; seed?: number; maxInFlight?: number };

/** Live counters for a progress display. */
export interface Progress {
  phase: 'warmup' | 'measure' | 'drain';
  elapsedMs: number;
  totalMs: number;
  ok: number;
  errors: number;
  inFlight: number;
}

/** One load run. */
export interface LoadOptions {
  mode: LoadMode;
  /** Measured duration in ms (after the warm-up); Infinity with `requests` for a count-bound run. */
  durationMs: number;
  /** Stop after this many measured requests (whichever of duration and count comes first). */
  requests?: number;
  warmupMs: number;
  /** Inferences per request (the batch dim), for inferences/s. */
  batch: number;
  /** Number of request variants (sent round-robin); default 1. */
  variants?: number;
  /** Latency bound for goodput, ms. */
  latencyBoundMs?: number;
  onProgress?: (p: Progress) => void;
  /** How long to wait for answers still out when the open-loop schedule ends (default 30 s). */
  drainTimeoutMs?: number;
}

/** Raw measurements of a run, keyed `<variant>|<phase label>`; mergeable across threads. */
export interface RawRun {
  recorders: Map<string, Recorder>;
  windowMs: number;
  cpu: { user: number; system: number };
}

/** What a run reports. */
export interface LoadResult {
  total: RunSummary;
  /** By request variant (present when there were several). */
  byVariant?: Record<string, RunSummary>;
  /** By rate phase label (present for a labelled profile). */
  byPhase?: Record<string, RunSummary>;
  windowMs: number;
  /** Cores the generator itself kept busy during the measured window. */
  generatorCpuCores: number;
}

/** Shared bookkeeping of both drivers. */
class RunState {
  readonly recorders = new Map<string, Recorder>();
  readonly t0 = performance.now();
  measureStart: number;
  lastDone: number;
  ok = 0;
  errors = 0;
  inFlight = 0;
  measured = 0;
  cpu0 = process.cpuUsage();

  constructor(readonly opts: LoadOptions) {
    this.measureStart = this.t0 + opts.warmupMs;
    this.lastDone = this.measureStart;
  }

  get end(): number {
    return this.measureStart + this.opts.durationMs;
  }

  record(key: string, latencyMs: number, error: string | undefined, doneAt: number): void {
    let r = this.recorders.get(key);
    if (!r) {
      r = new Recorder();
      this.recorders.set(key, r);
    }
    r.record(latencyMs, error);
    if (error === undefined) this.ok++;
    else this.errors++;
    if (doneAt > this.lastDone) this.lastDone = doneAt;
  }

  /** The measured window: the duration, or up to the last answer when a request count ended the run. */
  windowMs(): number {
    const countDone = this.opts.requests !== undefined && this.measured >= this.opts.requests;
    if (Number.isFinite(this.opts.durationMs) && !countDone) return this.opts.durationMs;
    return Math.max(1, this.lastDone - this.measureStart);
  }

  /** Whether more requests are wanted (count bound). */
  wantsMore(): boolean {
    return this.opts.requests === undefined || this.measured < this.opts.requests;
  }

  progress(phase: Progress['phase']): Progress {
    const total = this.opts.warmupMs + (Number.isFinite(this.opts.durationMs) ? this.opts.durationMs : 0);
    const elapsedMs = performance.now() - this.t0;
    return { phase, elapsedMs, totalMs: total, ok: this.ok, errors: this.errors, inFlight: this.inFlight };
  }
}

/** Runs one load against a target and returns the raw measurements. */
export async function runRaw(target: Target, opts: LoadOptions): Promise<RawRun> {
  const st = new RunState(opts);
  const cpuTimer = setTimeout(() => {
    st.cpu0 = process.cpuUsage();
  }, opts.warmupMs);
  const progressTimer = opts.onProgress
    ? setInterval(() => {
        const now = performance.now();
        opts.onProgress!(st.progress(now < st.measureStart ? 'warmup' : now < st.end ? 'measure' : 'drain'));
      }, 250)
    : undefined;
  try {
    if (opts.mode.kind === 'closed') await closedLoop(target, st, opts.mode.concurrency);
    else await openLoop(target, st, opts.mode);
  } finally {
    clearTimeout(cpuTimer);
    if (progressTimer) clearInterval(progressTimer);
  }
  const cpu = process.cpuUsage(st.cpu0);
  return { recorders: st.recorders, windowMs: st.windowMs(), cpu };
}

async function closedLoop(target: Target, st: RunState, concurrency: number): Promise<void> {
  const variants = Math.max(1, st.opts.variants ?? 1);
  let seq = 0;
  // Counts what *completes* inside the window (as wrk does): with latencies near the window's
  // length, counting by start time would miss the answers to requests sent during the warm-up.
  const client = async (): Promise<void> => {
    for (;;) {
      const t = performance.now();
      if (t >= st.end || !st.wantsMore()) return;
      const v = seq++ % variants;
      st.inFlight++;
      const err = await target.send(v);
      st.inFlight--;
      const done = performance.now();
      if (done >= st.measureStart && done <= st.end && st.wantsMore()) {
        st.measured++;
        st.record(`${v}|`, done - t, err, done);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, concurrency) }, client));
}

async function openLoop(target: Target, st: RunState, mode: Extract<LoadMode, { kind: 'open' }>): Promise<void> {
  const schedule = new ArrivalSchedule(mode.profile, seededRng(mode.seed ?? 7));
  const variants = Math.max(1, st.opts.variants ?? 1);
  const maxInFlight = mode.maxInFlight ?? 4096;
  const horizon = st.opts.warmupMs + st.opts.durationMs;
  let seq = 0;
  const fire = (at: number): void => {
    const measured = at >= st.opts.warmupMs;
    if (measured) st.measured++;
    const v = seq++ % variants;
    const key = `${v}|${schedule.labelAt(at)}`;
    const scheduled = st.t0 + at;
    // The generator's own limit: past it a request is counted as refused by the client, not queued
    // without bound in memory.
    if (st.inFlight >= maxInFlight) {
      if (measured) st.record(key, performance.now() - scheduled, 'client_backlog', performance.now());
      return;
    }
    st.inFlight++;
    void target.send(v).then((err) => {
      st.inFlight--;
      const done = performance.now();
      if (measured) st.record(key, done - scheduled, err, done);
    });
  };
  await new Promise<void>((resolve) => {
    let next = schedule.next();
    const tick = (): void => {
      const now = performance.now() - st.t0;
      while (next <= now && next < horizon && st.wantsMore()) {
        fire(next);
        next = schedule.next();
      }
      if (next >= horizon || !st.wantsMore()) {
        resolve();
        return;
      }
      const wait = next - (performance.now() - st.t0);
      // setTimeout is only good to ~1 ms; closer arrivals are polled between I/O turns.
      if (wait > 1.5) setTimeout(tick, wait - 1);
      else setImmediate(tick);
    };
    tick();
  });
  await drain(st, st.opts.drainTimeoutMs ?? 30_000);
}

/** Waits for answers still out; what has not come back by the timeout is counted as unfinished. */
async function drain(st: RunState, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (st.inFlight > 0 && performance.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  if (st.inFlight > 0) st.record('0|', timeoutMs, 'unfinished', performance.now());
}

/** Turns raw measurements into the report (total, and by variant / phase when there are several). */
export function resultOf(raw: RawRun, opts: Pick<LoadOptions, 'batch' | 'latencyBoundMs'>): LoadResult {
  const group = (pick: (key: string) => string): Record<string, Recorder> => {
    const out: Record<string, Recorder> = {};
    for (const [key, r] of raw.recorders) {
      const k = pick(key);
      out[k] ??= new Recorder();
      out[k].merge(r);
    }
    return out;
  };
  const sum = (r: Recorder) => summarize(r, raw.windowMs, opts.batch, opts.latencyBoundMs);
  const all = new Recorder();
  for (const r of raw.recorders.values()) all.merge(r);
  const byVariant = group((k) => k.split('|')[0]!);
  const byPhase = group((k) => k.split('|')[1] ?? '');
  const res: LoadResult = {
    total: sum(all),
    windowMs: raw.windowMs,
    generatorCpuCores: cpuShare(raw.cpu, raw.windowMs),
  };
  if (Object.keys(byVariant).length > 1)
    res.byVariant = Object.fromEntries(Object.entries(byVariant).map(([k, r]) => [k, sum(r)]));
  if (Object.keys(byPhase).some((k) => k !== ''))
    res.byPhase = Object.fromEntries(Object.entries(byPhase).map(([k, r]) => [k, sum(r)]));
  return res;
}

/** Runs one load and reports it. */
export async function runLoad(target: Target, opts: LoadOptions): Promise<LoadResult> {
  return resultOf(await runRaw(target, opts), opts);
}
