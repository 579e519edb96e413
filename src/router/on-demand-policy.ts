/**
 * On-demand loading as a version policy (policy.ts): with a model memory budget, a call for a
 * version the budget evicted loads it and waits, up to the call's deadline, then is served.
 * Wraps the innermost policy (Triton's latest-READY), so aliases and splits have already named a
 * concrete version. Only a not-ready / no-versions refusal of a model whose version was evicted
 * costs anything more: every call that resolves at once pays one recency touch and nothing else
 * (no promise, no lookup). Concurrent calls share one load and a failed load answers its back-off
 * window at once (repository/on-demand.ts). A call whose deadline passes while it waits gets the
 * usual deadline error; the load goes on and the version becomes resident for the next calls. A
 * load that fails (or finds no room) answers IG_ERR_UNAVAILABLE (503) naming why: the call was fine.
 */
import { type CallContext, type Clock, deadlineExceeded, type InferRequest, InferError } from '../core/index.js';
import type { VersionHandle } from '../repository/types.js';
import type { Target, VersionPolicy } from './policy.js';

/** What the policy asks the repository (implemented by repository/repository.ts). */
export interface Residency {
  /** The load of the evicted version a call names, or undefined when it names none. */
  ensureResident(model: string, requested: string | undefined): Promise<void> | undefined;
  /** The call goes to this version: it is the most recently used. */
  touch(version: VersionHandle): void;
}

/** The refusals a load on demand can turn into an answer. */
const MISSES = new Set(['IG_ERR_MODEL_NOT_READY', 'IG_ERR_MODEL_NOT_FOUND']);
/** A version evicted again before its waiting call resolved (a budget far too small) is loaded at most this often. */
const ATTEMPTS = 3;

export class OnDemandPolicy implements VersionPolicy {
  constructor(
    private readonly inner: VersionPolicy,
    private readonly residency: Residency,
    private readonly clock: Clock,
  ) {}

  resolve(
    model: string,
    requested: string | undefined,
    ctx: CallContext,
    request?: InferRequest,
  ): Target | Promise<Target> {
    let target: Target | Promise<Target>;
    try {
      target = this.inner.resolve(model, requested, ctx, request);
    } catch (err) {
      return this.miss(err, model, requested, ctx, request, 1);
    }
    if (target instanceof Promise)
      return target.then(
        (t) => this.touched(t),
        (err) => this.miss(err, model, requested, ctx, request, 1),
      );
    this.residency.touch(target.primary);
    return target;
  }

  private touched(t: Target): Target {
    this.residency.touch(t.primary);
    return t;
  }

  private async miss(
    err: unknown,
    model: string,
    requested: string | undefined,
    ctx: CallContext,
    request: InferRequest | undefined,
    attempt: number,
  ): Promise<Target> {
    if (!(err instanceof InferError) || !MISSES.has(err.code) || attempt > ATTEMPTS) throw err;
    const load = this.residency.ensureResident(model, requested);
    if (load === undefined) throw err;
    await this.wait(load, ctx.deadline).catch((failure: unknown) => {
      // The load's own refusal is about the model, not the call: a retryable 503, not a 400.
      if (failure instanceof InferError && failure.code === 'IG_ERR_MODEL_LOAD')
        throw new InferError('IG_ERR_UNAVAILABLE', `'${model}' could not be loaded on demand: ${failure.message}`);
      throw failure;
    });
    try {
      return this.touched(await this.inner.resolve(model, requested, ctx, request));
    } catch (again) {
      return this.miss(again, model, requested, ctx, request, attempt + 1);
    }
  }

  /** The load, or the deadline error when the call's deadline (epoch ms) comes first. */
  private async wait(load: Promise<void>, deadline: number): Promise<void> {
    if (deadline === Number.POSITIVE_INFINITY) return load;
    const left = deadline - this.clock.wallMs();
    if (left <= 0) throw deadlineExceeded();
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(deadlineExceeded()), left);
    });
    try {
      await Promise.race([load, expired]);
    } finally {
      clearTimeout(timer);
    }
  }
}
