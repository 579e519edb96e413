/**
 * A call's deadline over HTTP: the `infergate-timeout-ms` header, milliseconds from receipt
 * (HTTP has no standard deadline; gRPC's is `grpc-timeout`). Triton's `timeout` request parameter
 * keeps its own meaning, the queue timeout of the schedule_policy extension (protocol.md §B.6),
 * because Triton's clients rely on it being ignored unless the model allows the override.
 */
import { invalidArg } from '../../core/index.js';

export const TIMEOUT_HEADER = 'infergate-timeout-ms';

/** The longest timeout accepted: beyond it a client meant "none" or made a mistake. */
const MAX_TIMEOUT_MS = 24 * 3600 * 1000;

/** The absolute deadline (epoch ms) a request's headers ask for; Infinity without the header. */
export function deadlineFromHeader(value: string | string[] | undefined, nowMs: number): number {
  if (value === undefined) return Number.POSITIVE_INFINITY;
  const text = Array.isArray(value) ? value[0] : value;
  if (text === undefined || !/^\s*\d{1,9}\s*$/.test(text) || Number(text) < 1 || Number(text) > MAX_TIMEOUT_MS)
    throw invalidArg(
      `header '${TIMEOUT_HEADER}' must be a whole number of milliseconds from 1 to ${MAX_TIMEOUT_MS}, got '${String(text).slice(0, 20)}'`,
    );
  return nowMs + Number(text);
}
