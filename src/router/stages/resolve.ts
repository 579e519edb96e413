/** Asks the version policy where the call goes (router/policy.ts) and announces it (`resolved`). */
import type { Hooks } from '../hooks.js';
import type { Dispatch, Exchange, Stage } from '../pipeline.js';
import type { Target, VersionPolicy } from '../policy.js';

export function resolve(policy: VersionPolicy, hooks: Hooks): Stage {
  return (next) => {
    const proceed = (x: Exchange, target: Target) => {
      x.target = target;
      hooks.run('resolved', x);
      return next(x);
    };
    const dispatch: Dispatch = (x) => {
      const target = policy.resolve(x.request.model, x.request.version, x.ctx, x.request);
      // The default policy answers synchronously: no extra promise on the hot path.
      return target instanceof Promise ? target.then((t) => proceed(x, t)) : proceed(x, target);
    };
    return dispatch;
  };
}
