/**
 * Shadow traffic (issue #13 item 1): a call whose target names shadow versions is, after the
 * primary's answer was written (the `answered` hook), run once more on each shadow, and the two
 * answers are compared (compare.ts) into one PairDiff per (model, primary, shadow) version pair.
 *
 * Why it can never hurt the primary:
 *  - it starts after the client has its answer, so it adds no latency to that call;
 *  - it is dropped first under load: a shadow whose scheduler has anything queued, or that already
 *    has `maxInFlight` of this runner's calls running for the model, is skipped and counted as
 *    `dropped`, so a shadow never waits in a queue behind real traffic (or makes real traffic wait
 *    behind it);
 *  - it has no deadline and no client signal, and whatever it does (invalid for the shadow's
 *    signature, a failing or crashing model) is counted as `failed`, never thrown at the caller.
 * Inputs come from the router's tensor tap, asked for only for calls that have shadows; they are
 * copied again per shadow, since a submitted job's buffers move to the worker and the tap's copy is
 * shared with other hooks (payload log). The job is built as `schedule` builds it: the request's
 * inputs validated and reshaped for the shadow's own signature (router/validate.ts).
 */
import { type Clock, type InferRequest, isBytesData, systemClock, type Tensor } from '../core/index.js';
import type { VersionHandle } from '../repository/types.js';
import type { Hooks } from '../router/hooks.js';
import type { Exchange } from '../router/pipeline.js';
import { validateInputs, validateOutputs } from '../router/validate.js';
import type { Job } from '../scheduler/types.js';
import { type CallDiff, COMPARE_CAP, compareOutputs } from './compare.js';
import { emptyPair, observe, type PairDiff } from './observations.js';

export interface ShadowRunnerOptions {
  /** Shadow calls this runner may have running per model at once (default 4); more are dropped. */
  maxInFlight?: number;
  /** Worst-disagreeing calls kept per pair (default 20). */
  worstK?: number;
  /** Elements compared per output and call (default compare.ts COMPARE_CAP, 64 Ki). */
  compareCap?: number;
  clock?: Clock;
  /** Told about each failed shadow call (for a log line); never affects anything else. */
  onFailure?: (err: unknown, shadow: { model: string; version: number }) => void;
}

/** Only calls with shadows need their inputs copied before they go to the primary's worker. */
const hasShadows = (x: Exchange): boolean => (x.target?.shadows.length ?? 0) > 0;

export class ShadowRunner {
  private readonly pairs = new Map<string, Map<string, PairDiff>>();
  private readonly inFlight = new Map<string, number>();
  private readonly running = new Set<Promise<void>>();
  private readonly clock: Clock;
  private readonly maxInFlight: number;
  private readonly worstK: number;
  private readonly cap: number;
  private readonly unhook: () => void;
  private closed = false;

  constructor(
    hooks: Hooks,
    private readonly o: ShadowRunnerOptions = {},
  ) {
    this.clock = o.clock ?? systemClock;
    this.maxInFlight = o.maxInFlight ?? 4;
    this.worstK = o.worstK ?? 20;
    this.cap = o.compareCap ?? COMPARE_CAP;
    this.unhook = hooks.add('answered', (x) => this.answered(x), { tensors: hasShadows, label: 'shadow runner' });
  }

  /** The comparisons of `model` since its last reset, one per (primary, shadow) pair (copies). */
  diffs(model: string): PairDiff[] {
    return [...(this.pairs.get(model)?.values() ?? [])].map((d) => structuredClone(d));
  }

  /** Starts `model`'s comparisons from zero (a new rollout step); calls still running count nowhere. */
  reset(model: string): void {
    this.pairs.delete(model);
  }

  /** Shadow calls running now, over all models. */
  get inFlightCount(): number {
    return this.running.size;
  }

  /** Unhooks (no new shadow calls) and waits up to `timeoutMs` for the running ones. */
  async close(timeoutMs = 5000): Promise<void> {
    if (!this.closed) this.unhook();
    this.closed = true;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, timeoutMs);
      timer.unref();
    });
    await Promise.race([Promise.allSettled([...this.running]), late]);
    clearTimeout(timer);
  }

  private answered(x: Exchange): void {
    const target = x.target;
    const primaryOutputs = x.result?.outputs;
    const copy = x.inputsCopy;
    // Answered without running the primary's model, or the tap was added after this call's schedule.
    if (this.closed || !target || target.shadows.length === 0 || !primaryOutputs || !copy) return;
    const { model, version } = target.primary;
    for (const shadow of target.shadows) {
      const pair = this.pair(model, version, shadow.version);
      if (this.busy(model, shadow)) {
        pair.dropped++;
        continue;
      }
      this.launch(model, () => this.run(x, shadow, pair, primaryOutputs, copy));
    }
  }

  private busy(model: string, shadow: VersionHandle): boolean {
    return shadow.scheduler.pending > 0 || (this.inFlight.get(model) ?? 0) >= this.maxInFlight;
  }

  private launch(model: string, run: () => Promise<void>): void {
    this.inFlight.set(model, (this.inFlight.get(model) ?? 0) + 1);
    const p = run().finally(() => {
      const n = (this.inFlight.get(model) ?? 1) - 1;
      if (n > 0) this.inFlight.set(model, n);
      else this.inFlight.delete(model);
      this.running.delete(p);
    });
    this.running.add(p);
  }

  /** One shadow call; its synchronous part (validation, copy, submit) runs inside the hook. */
  private async run(x: Exchange, shadow: VersionHandle, pair: PairDiff, primary: Tensor[], copy: Tensor[]) {
    const started = this.clock.now();
    try {
      const result = await shadow.scheduler.submit(shadowJob(shadow, x.request, copy));
      observe(pair.latency, this.clock.now() - started);
      this.record(pair, compareOutputs(primary, result.outputs, this.cap), x.ctx.requestId);
    } catch (err) {
      pair.failed++;
      try {
        this.o.onFailure?.(err, { model: shadow.model, version: shadow.version });
      } catch {
        // A failing reporter must not turn into an unhandled rejection.
      }
    }
  }

  private record(pair: PairDiff, d: CallDiff, requestId: string): void {
    pair.compared++;
    for (const o of d.outputs) {
      if (!o.comparable) continue;
      const acc = pair.outputs[o.name] ?? { maxAbs: 0, sumAbs: 0, count: 0 };
      pair.outputs[o.name] = acc;
      acc.maxAbs = Math.max(acc.maxAbs, o.maxAbs);
      // sumAbs sums each call's mean element difference: sumAbs / count is the mean over calls.
      acc.sumAbs += o.meanAbs;
      acc.count++;
    }
    if (!d.disagree) return;
    pair.disagreed++;
    keepWorst(pair.worst, { requestId, diff: d.diff, at: new Date(this.clock.wallMs()).toISOString() }, this.worstK);
  }

  private pair(model: string, primary: number, shadow: number): PairDiff {
    let byPair = this.pairs.get(model);
    if (!byPair) {
      byPair = new Map();
      this.pairs.set(model, byPair);
    }
    const key = `${primary}>${shadow}`;
    let d = byPair.get(key);
    if (!d) {
      d = emptyPair(primary, shadow);
      byPair.set(key, d);
    }
    return d;
  }
}

/**
 * The shadow's job, as `schedule` builds the primary's: the request's inputs (the tap's copy of
 * their data, in the request's own shapes) validated and reshaped for the shadow's signature;
 * no deadline, no client signal, no trace (a shadow is not part of the client's call).
 */
function shadowJob(shadow: VersionHandle, request: InferRequest, copy: readonly Tensor[]): Job {
  const copied = new Map(copy.map((t) => [t.name, t]));
  const inputs = request.inputs.map((t): Tensor => {
    const c = copied.get(t.name);
    if (!c) throw new Error(`input '${t.name}' was not copied by the tensor tap`);
    return { ...c, shape: [...t.shape], data: cloneData(c.data) };
  });
  validateOutputs(shadow.spec, request);
  const v = validateInputs(shadow.spec, { ...request, inputs });
  return {
    inputs: v.inputs,
    outputs: request.outputs?.map((o) => o.name),
    batchSize: v.batchSize,
    priority: request.priority,
    timeoutUs: request.timeoutUs,
  };
}

function cloneData(d: Tensor['data']): Tensor['data'] {
  return isBytesData(d) ? d.map((e) => e.slice()) : d.slice();
}

/** Keeps `list` the `k` largest diffs, largest first. */
export function keepWorst<T extends { diff: number }>(list: T[], entry: T, k: number): void {
  if (k <= 0 || (list.length >= k && entry.diff <= (list.at(-1) as T).diff)) return;
  let i = list.length;
  while (i > 0 && (list[i - 1] as T).diff < entry.diff) i--;
  list.splice(i, 0, entry);
  if (list.length > k) list.length = k;
}
