/**
 * `--registry` → a store and an artifact directory. A PostgreSQL URL selects the shared store
 * (the artifacts then need `--registry-artifacts`, a directory every replica mounts); anything
 * else is a directory holding the embedded SQLite file `registry.db` and `artifacts/`.
 */
import { join, resolve } from 'node:path';
import { type Clock, invalidArg, systemClock } from '../core/index.js';
import { openPostgresStore } from './postgres.js';
import { openSqliteStore } from './sqlite.js';
import type { RegistryStore } from './types.js';

export interface RegistryLocation {
  /** `postgres://…` or a directory. */
  registry: string;
  /** Artifact directory; default `<registry dir>/artifacts` for SQLite, required for PostgreSQL. */
  artifacts?: string;
}

export function isPostgresUrl(s: string): boolean {
  return /^postgres(ql)?:\/\//i.test(s);
}

/** The artifact directory a location uses. */
export function artifactDir(loc: RegistryLocation): string {
  if (loc.artifacts) return resolve(loc.artifacts);
  if (isPostgresUrl(loc.registry))
    throw invalidArg('a PostgreSQL registry needs --registry-artifacts DIR (a directory every replica can read)');
  return resolve(loc.registry, 'artifacts');
}

export async function openRegistryStore(loc: RegistryLocation, clock: Clock = systemClock): Promise<RegistryStore> {
  if (isPostgresUrl(loc.registry)) return openPostgresStore(loc.registry, clock);
  return openSqliteStore(join(resolve(loc.registry), 'registry.db'), clock);
}
