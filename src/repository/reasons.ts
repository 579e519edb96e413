import { sep } from 'node:path';
import { InferError } from '../core/errors.js';

/**
 * A failure's message fit for clients: absolute paths of the repository root and private temp
 * directories are cut down to repo-relative ones. The original error stays as `cause`.
 */
export function publicMessage(err: unknown, roots: readonly string[]): string {
  let msg = err instanceof Error ? err.message : String(err);
  for (const root of roots) {
    if (!root) continue;
    msg = msg
      .split(root + sep)
      .join('')
      .split(root)
      .join('<repository>');
  }
  return msg.split('\n')[0] ?? msg;
}

/** The error a failed load rejects with: InferErrors keep their code, anything else is a load error. */
export function publicLoadError(err: unknown, model: string, roots: readonly string[]): InferError {
  const msg = publicMessage(err, roots);
  if (err instanceof InferError) return new InferError(err.code, msg, { cause: err });
  return new InferError('IG_ERR_MODEL_LOAD', `failed to load '${model}': ${msg}`, { cause: err });
}
