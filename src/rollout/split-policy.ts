/**
 * The router's version policy for models with a traffic policy (router/policy.ts seam): a call
 * that names no version goes to an arm of the split (sticky or random) and may be copied to
 * shadows; a call that names a version or an alias bypasses the split. Sits in front of the alias
 * policy, so an unsplit model still goes to its default alias.
 */
import type { CallContext, InferRequest } from '../core/index.js';
import type { TrafficPolicy } from '../registry/types.js';
import type { VersionHandle } from '../repository/types.js';
import type { Target, VersionPolicy } from '../router/policy.js';
import { pickArm, pickShadows } from './traffic.js';

/** What serving applies now (manager/sync.ts publishes it, only READY arms). */
export interface TrafficTable {
  trafficFor(model: string): TrafficPolicy | undefined;
}

export interface SplitPolicyOptions {
  random?: () => number;
  /** A sticky policy's key was missing from a call (it fell back to the random draw). */
  onStickyMissing?: (model: string) => void;
}

export class SplitPolicy implements VersionPolicy {
  private readonly random: () => number;

  constructor(
    private readonly table: TrafficTable,
    private readonly inner: VersionPolicy,
    private readonly o: SplitPolicyOptions = {},
  ) {
    this.random = o.random ?? Math.random;
  }

  resolve(
    model: string,
    requested: string | undefined,
    ctx: CallContext,
    request?: InferRequest,
  ): Target | Promise<Target> {
    const policy = requested === undefined || requested === '' ? this.table.trafficFor(model) : undefined;
    if (!policy) return this.inner.resolve(model, requested, ctx, request);
    const key = this.keyOf(policy, ctx, request, model);
    const version = pickArm(policy, model, key, this.random);
    const primary = this.inner.resolve(model, String(version), ctx);
    const shadows = pickShadows(policy, version, this.random);
    if (shadows.length === 0) return primary;
    const withShadows = (t: Target): Target => ({ primary: t.primary, shadows: this.handles(model, shadows, ctx) });
    return primary instanceof Promise ? primary.then(withShadows) : withShadows(primary);
  }

  private keyOf(policy: TrafficPolicy, ctx: CallContext, request: InferRequest | undefined, model: string) {
    const st = policy.sticky;
    if (!st) return undefined;
    const param = st.parameter === undefined ? undefined : request?.parameters[st.parameter];
    const fromParam = typeof param === 'string' || typeof param === 'number' ? String(param) : undefined;
    const key = (st.header ? ctx.header?.(st.header) : undefined) ?? fromParam;
    if (key === undefined) this.o.onStickyMissing?.(model);
    return key;
  }

  /** Shadow handles that resolve synchronously now; a shadow that cannot is skipped (it never fails the call). */
  private handles(model: string, versions: number[], ctx: CallContext): VersionHandle[] {
    const out: VersionHandle[] = [];
    for (const v of versions) {
      try {
        const t = this.inner.resolve(model, String(v), ctx);
        if (!(t instanceof Promise)) out.push(t.primary);
        // Not resolved now (an evicted version loading on demand): this call has no shadow, and a
        // failed load must not surface as an unhandled rejection.
        else t.catch(() => undefined);
      } catch {
        // Not ready on this replica: no shadow for this call.
      }
    }
    return out;
  }
}
