/**
 * The request pipeline's contract, in the style of undici's `Dispatcher.compose`: a dispatch is
 * one async function from a call to its answer, and a stage wraps the next dispatch with one
 * concern (resolve the version, check the deadline, validate, …). The router composes its stages
 * once at construction (router.ts has the order and why); adding a concern is one new file in
 * `stages/` and one line there.
 *
 * A stage may: pass the call on (`return next(call)`), answer without passing it on (a cache hit,
 * a refusal: throw an InferError), or act on the answer or the error on the way back.
 * The exchange is the one mutable object of a call: each stage fills the fields it owns and later
 * stages read them; the request and the context are never changed.
 */
import type { CallContext, InferError, InferRequest, InferResponse, Tensor } from '../core/index.js';
import type { JobResult } from '../scheduler/types.js';
import type { Target } from './policy.js';
import type { ValidatedInputs } from './validate.js';

/** One call on its way through the pipeline. */
export interface Exchange {
  readonly request: InferRequest;
  readonly ctx: CallContext;
  /** Clock.now() ms when the call entered the pipeline. */
  readonly startedAt: number;
  /** Set by `resolve`: where the call goes. */
  target?: Target;
  /**
   * Set by `deadline`: the call's absolute deadline in epoch ms (Infinity: none) after the model's
   * default and the server's maximum; `fallback` narrows it while the primary runs. Later stages
   * read this, never `ctx.deadline`.
   */
  deadline?: number;
  /**
   * Set by `fallback` before a step: a fresh copy of the call's inputs, which `validate` reads
   * instead of `request.inputs` (the primary's were transferred to its worker).
   */
  inputs?: Tensor[];
  /**
   * Set by `cache` for a version whose model enables response_cache: the request's digest (the
   * `fallback` stage's cache step keys the model's other versions with it), the version looked up,
   * whether the cache answered, and the time the cache took (Triton's cache_hit / cache_miss).
   */
  cache?: CacheUse;
  /** Set by `breaker` when it let the call through as a half-open probe (`fallback` reads it). */
  probe?: boolean;
  /** Set by `validate`: the inputs in the model's shapes and the batch size. */
  validated?: ValidatedInputs;
  /**
   * Set by `schedule` only when a hook asked for tensors (Hooks.wantsTensors): a copy of the
   * validated inputs taken before they were transferred to the worker.
   */
  inputsCopy?: Tensor[];
  /** Set by `schedule`: Clock.now() ms when the job was handed to the scheduler. */
  submittedAt?: number;
  /** Set by `schedule`: the scheduler's result (queue time, batch, stage times). */
  result?: JobResult;
  /** Set by `observe`: Clock.now() ms when the answer (or the error) left the pipeline. */
  endedAt?: number;
  /** Set by `observe` when the call failed. */
  error?: InferError;
}

/** One call's use of the response cache (stages/cache.ts). */
export interface CacheUse {
  /** cache/key.ts `requestDigest`: the request's part of the key. */
  readonly digest: string;
  readonly model: string;
  readonly version: number;
  readonly hit: boolean;
  /** ns spent in the cache: the lookup, plus the store after a miss. */
  ns: number;
}

/** Runs a call to its answer; rejects with an InferError. */
export type Dispatch = (x: Exchange) => Promise<InferResponse>;

/** One concern around the rest of the pipeline. */
export type Stage = (next: Dispatch) => Dispatch;

/** The dispatch that runs `stages` in order (the first is outermost) around `last`. */
export function compose(stages: readonly Stage[], last: Dispatch): Dispatch {
  let dispatch = last;
  for (let i = stages.length - 1; i >= 0; i--) dispatch = stages[i]!(dispatch);
  return dispatch;
}

/** A field an earlier stage owns, or a bug in the composition (never a client error). */
export function need<T>(value: T | undefined, field: string, stage: string): T {
  if (value === undefined) throw new Error(`pipeline order: '${stage}' needs '${field}', set by an earlier stage`);
  return value;
}
