/**
 * Graceful degradation: a model's `resilience.fallback` chain (config/resilience.ts), tried in
 * order when the primary cannot answer:
 *   - its breaker is open (IG_ERR_BREAKER_OPEN) or its queue refused the call (full, shed, queue
 *     timeout): nothing ran, so the step is the call's first execution;
 *   - it executed and failed server-side (execution error, worker crashed or hung): the step is a
 *     retry, allowed only within the model's retry budget (resilience/retry-budget.ts) — except
 *     after a failed half-open probe, which its breaker already rations;
 *   - it would miss the deadline: while the primary runs it gets the deadline minus
 *     `fallback_reserve` of the time left; if that passes, the chain gets the rest.
 * A step is another version of the model, another model (its primary only: a chain never
 * recurses, so it cannot loop), a configured default answer, or the response cache: this model's
 * cached answer for the same request from any READY version (the primary's first; a miss goes on
 * to the next step; nothing executes, so it costs no retry budget). At most 3 executions per call
 * (reliability.md R7); never a step for a client error or once the call's own deadline passed.
 * The answer names the step that served it (response parameter `fallback_step`, which HTTP also
 * sends as the `infergate-fallback-step` header) and each step served is counted.
 * Runs after `deadline` (it narrows `Exchange.deadline`) and before `breaker` (each step passes its
 * own target's breaker).
 */
import {
  type Clock,
  copyTensor,
  deadlineExceeded,
  InferError,
  type InferResponse,
  type Tensor,
} from '../../core/index.js';
import type { ResponseCacheApi } from '../../cache/cache.js';
import { responseKey } from '../../cache/key.js';
import type { FallbackStepSpec, ResilienceSpec } from '../../core/model.js';
import type { ModelRepositoryApi, VersionHandle } from '../../repository/types.js';
import { RetryBudget } from '../../resilience/retry-budget.js';
import { type Exchange, need, type Stage } from '../pipeline.js';
import { FALLBACK_PARAM } from '../types.js';

/** Executions one call may cost, the primary's included (reliability.md R7). */
export const MAX_EXECUTIONS = 3;

/** Refusals before anything ran: the step is the call's first execution, not a retry. */
const NOT_RUN = new Set([
  'IG_ERR_BREAKER_OPEN',
  'IG_ERR_QUEUE_FULL',
  'IG_ERR_QUEUE_TIMEOUT',
  'IG_ERR_MODEL_NOT_READY',
  'IG_ERR_UNAVAILABLE',
]);
/** It ran (or was running) and failed on the server's side: a step is a retry. */
const RAN_AND_FAILED = new Set([
  'IG_ERR_MODEL_EXECUTION',
  'IG_ERR_WORKER_CRASHED',
  'IG_ERR_WORKER_HUNG',
  'IG_ERR_INTERNAL',
  'IG_ERR_DEADLINE_EXCEEDED',
]);

export interface FallbackOptions {
  repository: Pick<ModelRepositoryApi, 'readyVersions'>;
  clock: Clock;
  /** Told of every answer a step gave (metrics). */
  onFallback?: (model: string, step: string) => void;
  /** Told of every retry the budget allowed or denied (metrics). */
  onRetry?: (model: string, allowed: boolean) => void;
  /** The response cache, for `cache` steps (absent: the server has none, the step is skipped). */
  cache?: ResponseCacheApi;
}

export function fallback(o: FallbackOptions): Stage {
  const budgets = new Map<string, RetryBudget>();
  const budgetOf = (model: string) => {
    let b = budgets.get(model);
    if (b === undefined) {
      b = new RetryBudget();
      budgets.set(model, b);
    }
    return b;
  };
  return (next) => (x) => {
    const { primary } = need(x.target, 'target', 'fallback');
    const r = primary.spec.resilience;
    // Models without a chain pay one property read and no extra promise.
    if (r === undefined || r.fallback.length === 0) return next(x);
    return withChain(o, budgetOf(primary.model), r, x, next);
  };
}

async function withChain(
  o: FallbackOptions,
  budget: RetryBudget,
  r: ResilienceSpec,
  x: Exchange,
  next: (x: Exchange) => Promise<InferResponse>,
): Promise<InferResponse> {
  const model = need(x.target, 'target', 'fallback').primary.model;
  budget.first(o.clock.now());
  // The primary's inputs are transferred to its worker: a step that executes needs its own copy.
  const kept = r.fallback.some((st) => st.kind === 'version' || st.kind === 'model')
    ? x.request.inputs.map(copyTensor)
    : undefined;
  const outer = x.deadline ?? x.ctx.deadline;
  const start = o.clock.wallMs();
  if (outer !== Number.POSITIVE_INFINITY) x.deadline = start + (outer - start) * (1 - r.fallbackReserve);
  let failure: unknown;
  try {
    return await next(x);
  } catch (err) {
    failure = err;
  }
  x.deadline = outer;
  let executions = 1;
  // A failed half-open probe is not charged to the budget: the breaker already rations probes (one
  // open period each at most), and charging them would turn the probe itself into an error answer.
  let uncharged = x.probe === true;
  for (const step of r.fallback) {
    const code = failure instanceof InferError ? failure.code : undefined;
    const ran = code !== undefined && RAN_AND_FAILED.has(code);
    if (code === undefined || (!ran && !NOT_RUN.has(code))) throw failure;
    if (o.clock.wallMs() >= outer) throw code === 'IG_ERR_DEADLINE_EXCEEDED' ? failure : deadlineExceeded();
    if (step.kind === 'default') return answered(o, model, 'default', defaultAnswer(x, step.outputs));
    if (step.kind === 'cache') {
      const hit = await cachedAnswer(o, x, model, outer);
      if (hit) return answered(o, model, 'cache', hit);
      continue;
    }
    const target = stepTarget(o.repository, model, step);
    if (target === undefined) continue; // not loaded now: the next step may be
    if (ran) {
      if (executions >= MAX_EXECUTIONS) throw failure;
      if (!uncharged) {
        const allowed = budget.tryRetry(o.clock.now());
        o.onRetry?.(model, allowed);
        if (!allowed) throw failure;
      }
    }
    uncharged = false;
    executions++;
    x.target = { primary: target, shadows: [] };
    x.validated = undefined;
    x.inputs = kept?.map(copyTensor);
    try {
      return answered(o, model, stepName(step), await next(x));
    } catch (err) {
      failure = err;
    }
  }
  throw failure;
}

/** The step's label in responses and metrics: `version:2`, `model:small`, `model:small:3`, `default`, `cache`. */
export function stepName(step: FallbackStepSpec): string {
  if (step.kind === 'cache') return 'cache';
  if (step.kind === 'version') return `version:${step.version}`;
  if (step.kind === 'model')
    return step.version === undefined ? `model:${step.model}` : `model:${step.model}:${step.version}`;
  return 'default';
}

function stepTarget(
  repository: FallbackOptions['repository'],
  model: string,
  step: Extract<FallbackStepSpec, { kind: 'version' | 'model' }>,
): VersionHandle | undefined {
  let ready: readonly VersionHandle[];
  try {
    ready = repository.readyVersions(step.kind === 'version' ? model : step.model);
  } catch {
    return undefined; // the model left the repository since the chain was checked: skip the step
  }
  const wanted = step.version;
  return wanted === undefined ? ready[0] : ready.find((v) => v.version === wanted);
}

/**
 * The `cache` step: this model's cached answer for the call's request, from any READY version whose
 * model enables response_cache, the primary's first; looked up together, within the call's deadline.
 * The `cache` stage computed the request's digest before the primary's inputs left for its worker.
 */
async function cachedAnswer(
  o: FallbackOptions,
  x: Exchange,
  model: string,
  outer: number,
): Promise<InferResponse | undefined> {
  const use = x.cache;
  const cache = o.cache;
  if (cache === undefined || use === undefined) return undefined;
  let ready: readonly VersionHandle[];
  try {
    ready = o.repository.readyVersions(model);
  } catch {
    return undefined;
  }
  const versions = ready
    .filter((v) => v.spec.responseCache === true)
    .sort((a, b) => Number(b.version === use.version) - Number(a.version === use.version));
  const budget = outer - o.clock.wallMs();
  const tenant = x.ctx.principal.tenant;
  const found = await Promise.all(versions.map((v) => cache.get(responseKey(tenant, v.spec, use.digest), budget)));
  const res = found.find((r) => r !== undefined);
  if (res && x.request.id) res.id = x.request.id;
  return res;
}

function defaultAnswer(x: Exchange, outputs: readonly Tensor[]): InferResponse {
  const primary = need(x.target, 'target', 'fallback').primary;
  const wanted = x.request.outputs?.map((t) => t.name);
  const res: InferResponse = {
    model: primary.model,
    version: String(primary.version),
    // Copies: the configured tensors are shared by every call and an encoder may transfer buffers.
    outputs: outputs
      .filter((t) => wanted === undefined || wanted.includes(t.name))
      .map((t) => ({ ...t, shape: [...t.shape], data: t.data.slice() as typeof t.data })),
  };
  if (x.request.id) res.id = x.request.id;
  return res;
}

function answered(o: FallbackOptions, model: string, step: string, res: InferResponse): InferResponse {
  o.onFallback?.(model, step);
  res.parameters = { ...res.parameters, [FALLBACK_PARAM]: step };
  return res;
}
