/**
 * Version names that are not numbers: registry aliases (`production`, `canary`…). A call may
 * name an alias wherever it names a version (`/v2/models/digits/versions/production/infer`,
 * gRPC `model_version: "production"`); it is translated to the number the alias names for
 * serving now, then resolved like a numbered call, so the answer always carries the concrete
 * version. A call naming no version goes to the model's default alias when it has one.
 * The table is read on every call: lookups are Map reads, no I/O (the registry sync keeps it).
 */
import { type CallContext, type InferRequest, InferError } from '../core/index.js';
import type { Target, VersionPolicy } from './policy.js';

/** What serving knows about aliases now (implemented by manager/sync.ts). */
export interface VersionAliases {
  /** The version an alias names for serving now; undefined when the model has no such alias. */
  lookup(model: string, alias: string): number | undefined;
  /** The version a call that names none goes to (the `production` alias); undefined: the highest READY. */
  defaultVersion(model: string): number | undefined;
}

const DIGITS = /^[0-9]+$/;

/** The requested version with an alias replaced by its number; throws IG_ERR_MODEL_NOT_FOUND for an unknown alias. */
export function translateVersion(aliases: VersionAliases, model: string, requested: string | undefined) {
  if (requested === undefined || requested === '') {
    const d = aliases.defaultVersion(model);
    return d === undefined ? requested : String(d);
  }
  if (DIGITS.test(requested)) return requested;
  const n = aliases.lookup(model, requested);
  if (n === undefined)
    throw new InferError(
      'IG_ERR_MODEL_NOT_FOUND',
      `Request for unknown model: '${model}' has no alias '${requested.slice(0, 64)}'`,
    );
  return String(n);
}

/** Wraps a policy so that aliases resolve before it decides. */
export class AliasPolicy implements VersionPolicy {
  constructor(
    private readonly aliases: VersionAliases,
    private readonly inner: VersionPolicy,
  ) {}

  resolve(
    model: string,
    requested: string | undefined,
    ctx: CallContext,
    request?: InferRequest,
  ): Target | Promise<Target> {
    return this.inner.resolve(model, translateVersion(this.aliases, model, requested), ctx, request);
  }
}
