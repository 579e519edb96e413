import { InferError } from '../core/errors.js';

/** Where in a config file a problem is; any part may be unknown. */
export interface ConfigPosition {
  /** Repo-relative file name, e.g. `resnet/config.pbtxt`. */
  file: string;
  line?: number;
  field?: string;
}

/** A model-load error that names the config file, line and field (never an absolute path). */
export function configError(pos: ConfigPosition, detail: string, cause?: unknown): InferError {
  const where = [`model config '${pos.file}'`];
  if (pos.line !== undefined) where.push(`line ${pos.line}`);
  if (pos.field) where.push(`field '${pos.field}'`);
  return new InferError('IG_ERR_MODEL_LOAD', `${where.join(', ')}: ${detail}`, { cause });
}

/** A model-load error about a model (not tied to a config position). */
export function loadError(model: string, detail: string, cause?: unknown): InferError {
  return new InferError('IG_ERR_MODEL_LOAD', `failed to load '${model}': ${detail}`, { cause });
}

/** The message of anything thrown, for wrapping. */
export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
