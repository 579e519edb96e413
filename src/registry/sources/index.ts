/**
 * Source URI → resolver, by scheme: a local path or file:// URL, http(s)://, mlflow(s)://. Which
 * kinds a caller may use, and through which fetch, is the composition root's decision: the CLI
 * (an operator on the machine) may push local paths and reach any host it names; the admin API
 * may not read local files and fetches only through the SSRF policy (reliability.md S9, S12).
 */
import { InferError } from '../../core/index.js';
import { quoteName } from '../names.js';
import { resolveHttp } from './http.js';
import { resolveLocal } from './local.js';
import { resolveMlflow } from './mlflow.js';
import type { Fetcher, ResolvedSource } from './types.js';

export interface SourceOptions {
  /** Local paths and file:// URLs (the CLI only). */
  allowLocal: boolean;
  /** How http(s) and MLflow sources are fetched (the admin API: createPolicedFetch). */
  fetch: Fetcher;
  /** `--from-version` for a Triton model directory. */
  fromVersion?: number;
  /** Declared sha256 of a single-file URL source. */
  sha256?: string;
  /** Bearer token for MLflow behind an auth proxy. */
  mlflowToken?: string;
}

export function createSourceResolver(opts: SourceOptions): (uri: string) => Promise<ResolvedSource> {
  return async (uri: string) => {
    const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(uri)?.[1]?.toLowerCase();
    if (scheme === undefined || scheme === 'file') {
      if (!opts.allowLocal)
        throw new InferError(
          'IG_ERR_FORBIDDEN_SOURCE',
          'local paths cannot be pushed through the admin API; use the CLI',
        );
      return resolveLocal(scheme === 'file' ? new URL(uri).pathname : uri, opts.fromVersion);
    }
    if (scheme === 'http' || scheme === 'https') return resolveHttp(uri, opts.fetch, { sha256: opts.sha256 });
    if (scheme === 'mlflow' || scheme === 'mlflows') return resolveMlflow(uri, opts.fetch, { token: opts.mlflowToken });
    throw new InferError(
      'IG_ERR_FORBIDDEN_SOURCE',
      `source scheme ${quoteName(scheme)} is not supported: use https://, mlflow:// or (CLI only) a local path`,
    );
  };
}

/** The CLI's fetch: the operator named the host, so no allowlist; still bounded in time. */
export const operatorFetch: Fetcher = (url, init = {}) =>
  fetch(url, { ...init, redirect: 'follow', signal: init.signal ?? AbortSignal.timeout(10 * 60_000) });
