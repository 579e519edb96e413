/**
 * Manual traffic splits (`infergate traffic set`, PUT /v2/models/{model}/traffic): an A/B test
 * or a fixed canary an operator holds by hand. While a rollout is active its controller owns the
 * model's split (it rewrites it at every step), so a manual change then is refused with the
 * rollout's id instead of being silently overwritten at the next step.
 */
import { InferError } from '../core/index.js';
import { checkModelName, quoteName } from '../registry/names.js';
import type { Actor, RegistryStore, TrafficPolicy } from '../registry/types.js';
import type { TrafficAdmin, TrafficView } from './api.js';
import { isActive, type RolloutState } from './state.js';
import { checkPolicy } from './traffic.js';

type Store = Pick<RegistryStore, 'listTraffic' | 'setTraffic' | 'getRollout'>;

export class ManualTraffic implements TrafficAdmin {
  constructor(private readonly store: Store) {}

  async show(model?: string): Promise<TrafficView[]> {
    if (model !== undefined) checkModelName(model);
    const all = (await this.store.listTraffic()).filter((t) => model === undefined || t.model === model);
    return Promise.all(
      all.map(async (t) => {
        const owner = await this.activeRollout(t.model);
        return owner ? { ...t, rollout: owner } : t;
      }),
    );
  }

  async set(model: string, policy: TrafficPolicy, actor: Actor, reason?: string): Promise<TrafficView> {
    checkModelName(model);
    checkPolicy(policy);
    await this.refuseDuringRollout(model, 'set');
    // A rollout started between the check and this write would lose its split until its next
    // transition; the controller rewrites the split at every step, so the window cannot persist.
    await this.store.setTraffic(model, policy, actor, reason ?? 'manual traffic split');
    const [written] = await this.show(model);
    if (!written) throw new InferError('IG_ERR_INTERNAL', `the traffic split of ${quoteName(model)} was not stored`);
    return written;
  }

  async clear(model: string, actor: Actor, reason?: string): Promise<boolean> {
    checkModelName(model);
    await this.refuseDuringRollout(model, 'clear');
    const had = (await this.store.listTraffic()).some((t) => t.model === model);
    if (had) await this.store.setTraffic(model, null, actor, reason ?? 'manual traffic split cleared');
    return had;
  }

  private async activeRollout(model: string): Promise<string | undefined> {
    const r = await this.store.getRollout(model);
    return r && isActive(r.state as unknown as RolloutState) ? r.id : undefined;
  }

  private async refuseDuringRollout(model: string, what: 'set' | 'clear'): Promise<void> {
    const r = await this.store.getRollout(model);
    if (!r || !isActive(r.state as unknown as RolloutState)) return;
    const status = (r.state as unknown as RolloutState).status;
    throw new InferError(
      'IG_ERR_CONFLICT',
      `cannot ${what} the traffic of ${quoteName(model)}: rollout ${r.id} is ${status} and owns its split (abort it, or let it finish, first)`,
    );
  }
}
