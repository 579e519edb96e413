/**
 * Database errors → the coded registry errors, decided once for both drivers: an unreachable or
 * busy database is IG_ERR_STORE_UNAVAILABLE naming the store (never the driver's text, which may
 * carry hosts, users or file paths); a unique-key race is IG_ERR_CONFLICT; anything else is
 * internal, with the driver's error kept as the cause for the log.
 */
import { InferError } from '../core/index.js';

const PG_UNAVAILABLE_CLASSES = ['08', '53', '57']; // connection, insufficient resources, operator intervention
const NODE_NET = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);
const SQLITE_UNAVAILABLE = /^SQLITE_(BUSY|LOCKED|CANTOPEN|IOERR|FULL|READONLY|PROTOCOL)/;

export function storeUnavailable(location: string, cause?: unknown): InferError {
  return new InferError('IG_ERR_STORE_UNAVAILABLE', `the registry store ${location} is unavailable`, { cause });
}

/** Maps what a query threw. */
export function storeError(location: string, err: unknown): InferError {
  if (err instanceof InferError) return err;
  const code = String((err as { code?: unknown })?.code ?? '');
  const message = err instanceof Error ? err.message : String(err);
  if (
    NODE_NET.has(code) ||
    SQLITE_UNAVAILABLE.test(code) ||
    PG_UNAVAILABLE_CLASSES.includes(code.slice(0, 2)) ||
    /Connection terminated|connection timeout|Client has encountered a connection error|not queryable|pool.*(ended|closed)/i.test(
      message,
    ) ||
    /driver has already been destroyed/i.test(message)
  )
    return storeUnavailable(location, err);
  if (code === '23505' || code.startsWith('SQLITE_CONSTRAINT_PRIMARYKEY') || code === 'SQLITE_CONSTRAINT_UNIQUE')
    return new InferError('IG_ERR_CONFLICT', 'the record was changed concurrently; retry', { cause: err });
  return new InferError('IG_ERR_INTERNAL', 'internal error in the registry store', { cause: err });
}
