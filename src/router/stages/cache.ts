/**
 * The response cache (cache/) for versions whose model enables Triton's `response_cache`: a call
 * whose answer is cached is answered here, without scheduling (Triton's behaviour: the answer does
 * not say it came from the cache; statistics and metrics count it). A miss goes on, and the
 * primary's own answer is stored on its way back.
 *
 * The key (cache/key.ts) covers the tenant, the concrete version and everything of the request that
 * decides the answer; it is computed before `next`, because `schedule` transfers the inputs to the
 * worker. A lookup waits on a remote tier no longer than the call's deadline (`Exchange.deadline`).
 * Placement (after `deadline`, outside `fallback` and `breaker`) is explained in router.ts.
 */
import type { Clock, InferResponse } from '../../core/index.js';
import type { ResponseCacheApi } from '../../cache/cache.js';
import { requestDigest, responseKey } from '../../cache/key.js';
import type { VersionHandle } from '../../repository/types.js';
import type { Hooks } from '../hooks.js';
import { type CacheUse, type Dispatch, type Exchange, need, type Stage } from '../pipeline.js';
import { FALLBACK_PARAM } from '../types.js';

export interface CacheStageOptions {
  cache: ResponseCacheApi;
  clock: Clock;
  hooks: Hooks;
}

export function cache(o: CacheStageOptions): Stage {
  return (next) => (x) => {
    const { primary } = need(x.target, 'target', 'cache');
    // Models without response_cache pay one property read and no extra promise.
    if (primary.spec.responseCache !== true) return next(x);
    return throughCache(o, primary, x, next);
  };
}

async function throughCache(o: CacheStageOptions, primary: VersionHandle, x: Exchange, next: Dispatch) {
  const start = o.clock.now();
  const digest = requestDigest(x.request);
  const key = responseKey(x.ctx.principal.tenant, primary.spec, digest);
  const found = await o.cache.get(key, (x.deadline ?? x.ctx.deadline) - o.clock.wallMs());
  const use: CacheUse = {
    digest,
    model: primary.model,
    version: primary.version,
    hit: found !== undefined,
    ns: (o.clock.now() - start) * 1e6,
  };
  x.cache = use;
  if (found !== undefined) {
    if (x.request.id) found.id = x.request.id;
    // Nothing was transferred to a worker: a hook that reads the inputs reads the request's own.
    if (o.hooks.wantsTensors && o.hooks.tensorsFor(x)) x.inputsCopy = x.request.inputs;
    return found;
  }
  const res = await next(x);
  if (ownAnswer(res, primary)) {
    const t = o.clock.now();
    o.cache.set(key, res);
    use.ns += (o.clock.now() - t) * 1e6;
  }
  return res;
}

/** Only the primary's own answer belongs under its key: never a fallback step's (another version or model, a default). */
function ownAnswer(res: InferResponse, primary: VersionHandle): boolean {
  return (
    res.parameters?.[FALLBACK_PARAM] === undefined &&
    res.model === primary.model &&
    res.version === String(primary.version)
  );
}
