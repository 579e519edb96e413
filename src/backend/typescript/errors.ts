/**
 * What a client is told when a TypeScript model's run fails: always the model and version, the
 * model's own message (absolute paths reduced to file names, at most MAX_MESSAGE characters),
 * never a stack (the server log has it, instance.ts).
 */
import { type ErrorCode, InferError } from '../../core/index.js';
import { cleanReason } from '../ort/reasons.js';
import type { InstanceRef } from '../types.js';
import type { FromTsWorker, RunFailure } from './messages.js';

const MAX_MESSAGE = 1000;

/** Codes a model's error keeps when it throws them (a client's mistake, or a downstream deadline). */
const KEPT: ReadonlySet<string> = new Set<ErrorCode>([
  'IG_ERR_INVALID_ARG',
  'IG_ERR_DEADLINE_EXCEEDED',
  'IG_ERR_CANCELLED',
]);

function who(ref: InstanceRef): string {
  return `model '${ref.model}' version ${ref.version}`;
}

function clientText(message: string): string {
  const clean = cleanReason(message);
  return clean.length > MAX_MESSAGE ? `${clean.slice(0, MAX_MESSAGE)}…` : clean;
}

/** The answer to a run that outlived its bound: its deadline (504), or `execute_timeout_ms` (500). */
export function boundError(
  ref: InstanceRef,
  kind: Extract<RunFailure, 'deadline' | 'timeout'>,
  timeoutMs: number,
): InferError {
  if (kind === 'deadline')
    return new InferError('IG_ERR_DEADLINE_EXCEEDED', `${who(ref)} did not finish before the request deadline`);
  return new InferError(
    'IG_ERR_MODEL_EXECUTION',
    `${who(ref)} did not finish within ${timeoutMs} ms (execute_timeout_ms)`,
  );
}

/** The client-facing error of a run the worker failed. */
export function runError(ref: InstanceRef, m: Extract<FromTsWorker, { type: 'error' }>, timeoutMs: number): InferError {
  const cause = new Error(m.stack ?? m.message);
  switch (m.failure) {
    case 'deadline':
    case 'timeout':
      return boundError(ref, m.failure, timeoutMs);
    case 'output':
      return new InferError(
        'IG_ERR_MODEL_EXECUTION',
        `${who(ref)} returned an output its config does not allow: ${clientText(m.message)}`,
        { cause },
      );
    default:
      if (m.code === 'IG_ERR_INVALID_ARG')
        return new InferError('IG_ERR_INVALID_ARG', `${who(ref)} refused the request: ${clientText(m.message)}`, {
          cause,
        });
      return new InferError(
        m.code !== undefined && KEPT.has(m.code) ? (m.code as ErrorCode) : 'IG_ERR_MODEL_EXECUTION',
        `${who(ref)} failed: ${clientText(m.message)}`,
        { cause },
      );
  }
}
