/**
 * The registry's part of the composition root: opens the store and the artifact directory,
 * builds the service the admin API calls and, in registry control mode, the sync that decides
 * what the repository serves. In registry mode the repository folder is the sync's own serving
 * directory; a folder that already holds models the sync did not write is refused, so a user's
 * hand-made repository is never overwritten.
 */
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Clock } from '../core/index.js';
import { RegistrySync } from '../manager/sync.js';
import type { Logger } from '../observability/logger.js';
import { ArtifactStore } from '../registry/artifacts.js';
import { artifactDir, openRegistryStore } from '../registry/open.js';
import { RegistryService } from '../registry/service.js';
import { createPolicedFetch, DEFAULT_FETCH_POLICY } from '../registry/sources/http.js';
import { createSourceResolver } from '../registry/sources/index.js';
import type { RegistryStore } from '../registry/types.js';
import type { ModelRepositoryApi } from '../repository/types.js';
import type { ServerOptions } from './options.js';

export interface ServerRegistry {
  service: RegistryService;
  /** Present in registry control mode. */
  sync?: RegistrySync;
  close(): Promise<void>;
}

const MARKER = '.infergate-serving';

/** The registry location a server uses: --registry, else `<repository>.registry` in registry mode. */
export function registryLocation(o: ServerOptions): string | undefined {
  return o.registry ?? (o.controlMode === 'registry' ? `${resolve(o.repository)}.registry` : undefined);
}

/** Registry mode writes the repository folder itself: refuse one that holds models it did not write. */
export function claimServingDir(dir: string): void {
  mkdirSync(dir, { recursive: true });
  if (existsSync(join(dir, MARKER))) return;
  const foreign = readdirSync(dir).filter((n) => !n.startsWith('.'));
  if (foreign.length > 0)
    throw new Error(
      `registry control mode serves from a folder it owns, but ${dir} already holds ${foreign.slice(0, 5).join(', ')}${foreign.length > 5 ? '…' : ''}; point it at an empty folder`,
    );
  writeFileSync(join(dir, MARKER), 'This folder is written by infergate registry control mode; do not edit.\n');
}

export async function openServerRegistry(
  o: ServerOptions,
  repository: Pick<ModelRepositoryApi, 'sync' | 'readyVersions' | 'isEvicted'>,
  logger: Logger,
  clock: Clock,
): Promise<ServerRegistry | undefined> {
  const location = registryLocation(o);
  if (location === undefined) return undefined;
  const loc = { registry: location, artifacts: o.registryArtifacts };
  const artifacts = new ArtifactStore(artifactDir(loc));
  const store: RegistryStore = await openRegistryStore(loc, clock);
  const service = new RegistryService({
    store,
    artifacts,
    // A client of the admin API names the URL: only allowlisted hosts, never private addresses (S12).
    resolveSource: createSourceResolver({
      allowLocal: false,
      fetch: createPolicedFetch({
        ...DEFAULT_FETCH_POLICY,
        allowHosts: o.registryFetchAllow,
        allowHttp: o.registryFetchAllowHttp,
        timeoutMs: 30 * 60_000,
      }),
    }),
    protectedAliases: o.registryProtectedAliases,
    clock,
  });
  const swept = await artifacts.sweepStaging().catch(() => 0);
  if (swept > 0) logger.info({ swept }, 'removed stale staging files of interrupted pushes');
  const sync =
    o.controlMode === 'registry'
      ? new RegistrySync({
          store,
          artifacts,
          repository,
          root: resolve(o.repository),
          logger,
          pollMs: o.registryPollSeconds * 1000,
          defaultAlias: o.registryDefaultAlias,
        })
      : undefined;
  logger.info({ registry: store.location, mode: o.controlMode }, `model registry: ${store.location}`);
  return {
    service,
    sync,
    async close() {
      await sync?.stop();
      await store.close().catch(() => undefined);
    },
  };
}
