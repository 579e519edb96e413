/** The facts about an instance that instance choice depends on. */
export interface InstanceLoad {
  alive: boolean;
  inflight: number;
}

/**
 * Chooses the instance for the next execution: a live one with the fewest executions in flight,
 * the lowest index on ties (keeps caches warm). Returns -1 when every instance is busy
 * (inflight >= maxInflight) or dead. Pure: same input, same answer.
 */
export function pickInstance(instances: readonly InstanceLoad[], maxInflight = 1): number {
  let best = -1;
  for (let i = 0; i < instances.length; i++) {
    const it = instances[i]!;
    if (!it.alive || it.inflight >= maxInflight) continue;
    if (best === -1 || it.inflight < instances[best]!.inflight) best = i;
  }
  return best;
}
