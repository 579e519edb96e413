/**
 * The errors every scheduler answers with, made in one place so that FIFO and the batcher say
 * the same thing (queue-policy.ts has the queue policy's own, with Triton's texts).
 */
import { InferError } from '../core/index.js';

/** The job's client went away (its signal aborted) before the job ran. */
export function cancelledError(): InferError {
  return new InferError('IG_ERR_CANCELLED', 'request was cancelled by the client before it ran');
}

/** The version is draining: it finishes what it holds and takes nothing new. */
export function unloadingError(): InferError {
  return new InferError('IG_ERR_UNAVAILABLE', 'model version is unloading');
}

/**
 * Every instance is dead (restarting); queued jobs fail rather than wait behind a crash loop.
 * They never ran, so the answer is a retryable 503 (UNAVAILABLE), not the 500 of a crash mid-run.
 */
export function noLiveInstanceError(): InferError {
  return new InferError('IG_ERR_UNAVAILABLE', 'no live instance of the model is available; it is restarting');
}

/** A scheduler bug the loop survived; the cause is logged through onError, never sent. */
export function internalError(cause?: unknown): InferError {
  return new InferError('IG_ERR_INTERNAL', 'internal error while scheduling the request', { cause });
}
