/**
 * Ties a gRPC call's lifetime to an AbortSignal, so that a request whose client cancelled or
 * whose deadline passed is never handed to a worker (InferRequest.signal).
 */
import type { Deadline } from '@grpc/grpc-js';
import { InferError } from '../../core/index.js';

/** The part of a grpc-js server call we need (unary calls and duplex streams both have it). */
export interface CancellableCall {
  readonly cancelled: boolean;
  getDeadline(): Deadline;
  on(event: 'cancelled', listener: () => void): unknown;
  off(event: 'cancelled', listener: () => void): unknown;
}

export interface CallSignal {
  signal: AbortSignal;
  /** Stops watching the call; 'cancelled' fires after a normal finish too, which must not abort. */
  release(): void;
}

/** Absolute deadline in epoch ms, Infinity when the client set none. */
export function deadlineMs(call: CancellableCall): number {
  const d = call.getDeadline();
  return d instanceof Date ? d.getTime() : d;
}

// A client whose own deadline timer fires resets the stream at about the moment the server's
// deadline (receipt time + grpc-timeout) passes, often before it when the headers were slow to
// be processed. A cancel within max(25 ms, a quarter of the budget) of the deadline therefore
// counts as the deadline. Only the abort reason depends on this; the request is dropped either way.
function abortReason(call: CancellableCall, budgetMs: number): InferError {
  const slack = Math.max(25, budgetMs / 4);
  return Number.isFinite(budgetMs) && Date.now() >= deadlineMs(call) - slack
    ? new InferError('IG_ERR_DEADLINE_EXCEEDED', 'Deadline Exceeded')
    : new InferError('IG_ERR_CANCELLED', 'request cancelled by the client');
}

/**
 * Watches a call. grpc-js ends a call whose deadline passes with DEADLINE_EXCEEDED and then
 * emits 'cancelled', so this one listener covers both the deadline and a client cancel.
 */
export function watchCall(call: CancellableCall): CallSignal {
  const controller = new AbortController();
  const budget = deadlineMs(call) - Date.now();
  const abort = () => {
    if (!controller.signal.aborted) controller.abort(abortReason(call, budget));
  };
  if (call.cancelled || budget <= 0) {
    abort();
    return { signal: controller.signal, release: () => {} };
  }
  call.on('cancelled', abort);
  return { signal: controller.signal, release: () => call.off('cancelled', abort) };
}
