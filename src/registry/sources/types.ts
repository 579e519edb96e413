/**
 * A source says what a version consists of and how to read each file; the push (push.ts) stages,
 * verifies and commits the bytes, then registers the version. Sources never write anything, so a
 * failed or interrupted read leaves nothing behind but staged files the push removes.
 * Implementations: local.ts (a path), http.ts (https URLs under the fetch policy), mlflow.ts.
 */
import type { ByteSource } from '../artifacts.js';
import type { Lineage, StoredConfig } from '../types.js';

export interface SourceFile {
  /** Path inside the version directory ('model.onnx', 'weights/a.bin'). */
  path: string;
  open(): Promise<ByteSource>;
  /** Declared size, when the source knows it (progress bars; checked when staged). */
  size?: number;
  /** Declared sha256, when the source knows it: a mismatch refuses the push. */
  sha256?: string;
}

export interface ResolvedSource {
  /** Recorded as the version's sourceUri: where it came from, without credentials. */
  uri: string;
  format: string;
  files: SourceFile[];
  config?: StoredConfig;
  lineage?: Lineage;
  tags?: Record<string, string>;
  metrics?: Record<string, number>;
  /** The model name the source suggests (MLflow's registered name), when the caller gives none. */
  suggestedName?: string;
}

/**
 * How a source makes HTTP requests. The composition root passes the policed fetch (http.ts:
 * allowlisted hosts, private addresses refused and pinned, redirects re-validated, size and
 * time limits) for anything a client of the admin API can name.
 */
export type Fetcher = (
  url: string,
  init?: { signal?: AbortSignal; headers?: Record<string, string>; method?: string; body?: string },
) => Promise<Response>;
