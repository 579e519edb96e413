import type { FailureReason } from './stats.js';

/** Error codes counted as REJECTED: the queue refused the request or it waited past its timeout. */
const REJECTED = new Set(['IG_ERR_QUEUE_FULL', 'IG_ERR_QUEUE_TIMEOUT']);
/** Error codes counted as CANCELED: the client went away or its deadline passed. */
const CANCELED = new Set(['IG_ERR_CANCELLED', 'IG_ERR_DEADLINE_EXCEEDED']);
/** Error codes counted as BACKEND: the model or its worker failed. */
const BACKEND = new Set(['IG_ERR_MODEL_EXECUTION', 'IG_ERR_WORKER_CRASHED', 'IG_ERR_WORKER_HUNG']);

/** Triton's failure reason (nv_inference_request_failure{reason}) for an error code. */
export function failureReasonOf(code: string): FailureReason {
  if (REJECTED.has(code)) return 'REJECTED';
  if (CANCELED.has(code)) return 'CANCELED';
  if (BACKEND.has(code)) return 'BACKEND';
  return 'OTHER';
}

/** Reason label of infergate_unrouted_requests_total for a request that never reached a version. */
export function unroutedReasonOf(
  code: string,
): 'model_not_found' | 'model_not_ready' | 'unavailable' | 'forbidden' | 'rate_limited' | 'other' {
  if (code === 'IG_ERR_MODEL_NOT_FOUND') return 'model_not_found';
  if (code === 'IG_ERR_FORBIDDEN' || code === 'IG_ERR_UNAUTHENTICATED') return 'forbidden';
  if (code === 'IG_ERR_RATE_LIMITED') return 'rate_limited';
  if (code === 'IG_ERR_MODEL_NOT_READY') return 'model_not_ready';
  if (code === 'IG_ERR_UNAVAILABLE') return 'unavailable';
  return 'other';
}
