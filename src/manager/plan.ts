/**
 * Pure decisions of the registry sync: which versions each model must have loaded, and which
 * version each alias serves. An alias switches to its registry target only once that version is
 * READY; until then it keeps serving the version it served before (if that one is still READY),
 * so a move never sends traffic to a version that is still loading or failed to load.
 */
import type { AliasRecord, RegistrySnapshot } from '../registry/types.js';

/** model → alias → version being served. */
export type AliasTable = ReadonlyMap<string, ReadonlyMap<string, number>>;

/** Versions the registry names for serving: alias targets, pinned versions, traffic arms and shadows, per model. */
export function desiredVersions(snapshot: RegistrySnapshot): Map<string, number[]> {
  const out = new Map<string, Set<number>>();
  const add = (model: string, v: number) => {
    const set = out.get(model) ?? new Set<number>();
    out.set(model, set);
    set.add(v);
  };
  for (const a of snapshot.aliases) add(a.model, a.version);
  for (const v of snapshot.versions) if (v.pinned) add(v.model, v.version);
  for (const t of snapshot.traffic ?? []) {
    for (const arm of t.policy.arms) add(t.model, arm.version);
    for (const s of t.policy.shadows ?? []) add(t.model, s.version);
  }
  return new Map([...out].map(([m, s]) => [m, [...s].sort((a, b) => a - b)]));
}

/** The versions an alias table serves, per model. */
export function servedVersions(table: AliasTable): Map<string, number[]> {
  return new Map([...table].map(([m, aliases]) => [m, [...new Set(aliases.values())].sort((a, b) => a - b)]));
}

/**
 * The alias table after a sync: each registry alias names its target when READY, else the version
 * it served before when that is still READY, else nothing (the alias answers 404 until it loads).
 */
export function nextAliasTable(
  aliases: readonly AliasRecord[],
  previous: AliasTable,
  isReady: (model: string, version: number) => boolean,
): { table: AliasTable; held: Array<{ model: string; alias: string; serving?: number; target: number }> } {
  const table = new Map<string, Map<string, number>>();
  const held: Array<{ model: string; alias: string; serving?: number; target: number }> = [];
  for (const a of aliases) {
    const before = previous.get(a.model)?.get(a.alias);
    let serving: number | undefined;
    if (isReady(a.model, a.version)) serving = a.version;
    else {
      serving = before !== undefined && isReady(a.model, before) ? before : undefined;
      held.push({ model: a.model, alias: a.alias, serving, target: a.version });
    }
    if (serving === undefined) continue;
    const m = table.get(a.model) ?? new Map<string, number>();
    table.set(a.model, m);
    m.set(a.alias, serving);
  }
  return { table, held };
}

/** Union of version lists per model. */
export function unionVersions(...maps: ReadonlyMap<string, readonly number[]>[]): Map<string, number[]> {
  const out = new Map<string, Set<number>>();
  for (const map of maps)
    for (const [m, vs] of map) {
      const set = out.get(m) ?? new Set<number>();
      out.set(m, set);
      for (const v of vs) set.add(v);
    }
  return new Map([...out].map(([m, s]) => [m, [...s].sort((a, b) => a - b)]));
}
