/**
 * Version resolution, owned by the router: a policy turns (model, requested version, call context)
 * into the version that answers and the versions that only shadow it. The repository says which
 * versions exist and are READY; which one a call goes to is the policy's decision, so traffic
 * splits, aliases and on-demand loading are policies, not repository changes.
 * Called by the `resolve` stage once per call; may return a promise (a policy may load a version).
 */
import { type CallContext, type InferRequest, notFound } from '../core/index.js';
import type { ModelRepositoryApi, VersionHandle } from '../repository/types.js';

/** Where a call goes. */
export interface Target {
  /** The version whose answer the client gets. */
  primary: VersionHandle;
  /** Versions that also receive the call and whose answers are only compared, never returned. */
  shadows: readonly VersionHandle[];
}

/** Decides the target of a call. Throws (or rejects with) Triton's not-found / not-ready InferErrors. */
export interface VersionPolicy {
  /** `request` is the decoded call (a sticky split reads a parameter of it); never mutated. */
  resolve(
    model: string,
    requested: string | undefined,
    ctx: CallContext,
    request?: InferRequest,
  ): Target | Promise<Target>;
}

/** What the default policy reads from the repository. */
export type VersionSource = Pick<ModelRepositoryApi, 'readyVersions' | 'modelVersions'>;

const NO_SHADOWS: readonly VersionHandle[] = Object.freeze([]);

/**
 * Today's behaviour, Triton's: the requested version when it is READY, else the highest READY
 * version; no shadows. Errors carry Triton's texts, which clients match on.
 */
export class LatestReadyPolicy implements VersionPolicy {
  constructor(private readonly source: VersionSource) {}

  resolve(model: string, requested: string | undefined): Target {
    const ready = this.source.readyVersions(model);
    if (requested === undefined || requested === '') {
      const primary = ready[0];
      if (primary === undefined) throw notFound.noVersions(model);
      return { primary, shadows: NO_SHADOWS };
    }
    const n = /^[0-9]+$/.test(requested) ? Number(requested) : Number.NaN;
    for (const v of ready) if (v.version === n) return { primary: v, shadows: NO_SHADOWS };
    // Not among the READY ones: unknown (or not a version at all) vs known but not ready.
    const [status] = this.source.modelVersions(model, requested);
    throw notFound.notReady(model, status?.version ?? requested);
  }
}
