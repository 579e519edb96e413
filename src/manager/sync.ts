/**
 * The registry sync: the reconcile loop of `--model-control-mode registry`. It reads the
 * registry's aliases and pinned versions, lays their artifacts out under the serving directory,
 * has the repository load exactly those versions, and publishes the alias table the router
 * reads on every call (router/alias-policy.ts).
 *
 * Order of one pass (plan.ts decides, this file applies):
 *   1. load what the registry names, beside what the aliases serve now;
 *   2. switch each alias to its target once that is READY (a failed or slow load keeps the old one);
 *   3. retire versions nothing names any more (in-flight calls drain first).
 * So a move between warm versions is a table swap, and a move to a cold one never fails a call.
 *
 * Triggers: PostgreSQL notifications (milliseconds) and a poll of the store's revision (every
 * `pollMs`, the fallback and SQLite's only way). When the store is unreachable, serving goes on
 * with the last state; the last applied snapshot is also kept on disk, so a restart while the
 * store is down serves what it served before.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InferError } from '../core/index.js';
import type { Logger } from '../observability/logger.js';
import type { ArtifactStore } from '../registry/artifacts.js';
import type { RegistrySnapshot, RegistryStore, VersionRecord } from '../registry/types.js';
import type { ModelRepositoryApi } from '../repository/types.js';
import type { VersionAliases } from '../router/alias-policy.js';
import type { TrafficTable } from '../rollout/split-policy.js';
import { effectiveTraffic } from '../rollout/traffic.js';
import type { RolloutRecord, TrafficPolicy } from '../registry/types.js';
import { layoutModel, pruneModel } from './layout.js';
import { type AliasTable, desiredVersions, nextAliasTable, servedVersions, unionVersions } from './plan.js';

export interface RegistrySyncOptions {
  store: RegistryStore;
  artifacts: ArtifactStore;
  repository: Pick<ModelRepositoryApi, 'sync' | 'readyVersions' | 'isEvicted'>;
  /** The serving directory: the repository's root in registry mode. */
  root: string;
  logger: Pick<Logger, 'info' | 'warn' | 'error'>;
  /** Revision poll interval (default 1000 ms). */
  pollMs?: number;
  /** The alias a call without a version goes to (default `production`). */
  defaultAlias?: string;
}

/** What the sync knows, for logs, readiness and the admin API. */
export interface SyncStatus {
  revision: number;
  storeAvailable: boolean;
  /** Alias → served version, per model. */
  aliases: Record<string, Record<string, number>>;
  /** The traffic split applied now (READY arms only), per model. */
  traffic: Record<string, TrafficPolicy>;
}

const STATE_FILE = '.registry-state.json';

export class RegistrySync implements VersionAliases, TrafficTable {
  private table: AliasTable = new Map();
  private traffic = new Map<string, TrafficPolicy>();
  private rolloutRows: RolloutRecord[] = [];
  private readonly applied = new Set<() => void>();
  private revision = -1;
  private served = new Map<string, number[]>();
  /** The versions last handed to `repository.sync` per model: an unchanged set is not re-synced. */
  private readonly synced = new Map<string, number[]>();
  private running: Promise<void> | undefined;
  private again = false;
  private storeAvailable = true;
  private timer: NodeJS.Timeout | undefined;
  private unwatch: (() => void) | undefined;
  private stopped = false;
  private readonly defaultAlias: string;
  /** The registry's default-alias target per model (the memory budget pins it and what serves now). */
  private defaultTargets = new Map<string, number>();

  constructor(private readonly o: RegistrySyncOptions) {
    this.defaultAlias = o.defaultAlias ?? 'production';
  }

  lookup(model: string, alias: string): number | undefined {
    return this.table.get(model)?.get(alias);
  }

  defaultVersion(model: string): number | undefined {
    return this.table.get(model)?.get(this.defaultAlias);
  }

  /**
   * Never evicted by the memory budget: the version the default alias serves, and the one the
   * registry moved it to (pinned from its load on, so it is warm when the alias switches).
   */
  isPinned(model: string, version: number): boolean {
    return this.defaultVersion(model) === version || this.defaultTargets.get(model) === version;
  }

  trafficFor(model: string): TrafficPolicy | undefined {
    return this.traffic.get(model);
  }

  /** Runs `fn` after every applied snapshot (the rollout observer re-reads the active steps); returns the unsubscribe. */
  onApplied(fn: () => void): () => void {
    this.applied.add(fn);
    return () => this.applied.delete(fn);
  }

  /** The rollouts of the last snapshot (rollout/observer.ts counts the active ones' steps). */
  rollouts(): readonly RolloutRecord[] {
    return this.rolloutRows;
  }

  status(): SyncStatus {
    const aliases: SyncStatus['aliases'] = {};
    for (const [m, t] of this.table) aliases[m] = Object.fromEntries(t);
    return {
      revision: this.revision,
      storeAvailable: this.storeAvailable,
      aliases,
      traffic: Object.fromEntries(this.traffic),
    };
  }

  /** First pass (from the store, else from the last state on disk), then the watch and the poll. */
  async start(): Promise<void> {
    await mkdir(this.o.root, { recursive: true });
    let snapshot: RegistrySnapshot | undefined;
    try {
      snapshot = await this.o.store.snapshot();
    } catch (err) {
      snapshot = await this.readState();
      if (!snapshot || !unavailable(err)) throw err;
      this.markDown(err);
      this.o.logger.warn(
        { revision: snapshot.revision },
        'registry store unreachable at start: serving the last known state',
      );
    }
    await this.apply(snapshot);
    this.unwatch = this.o.store.watch(() => this.trigger());
    this.timer = setInterval(() => this.trigger(), this.o.pollMs ?? 1000);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    this.unwatch?.();
    await this.running;
  }

  /** Runs a pass now, or once more after the running one (triggers coalesce). */
  trigger(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = this.loop().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async loop(): Promise<void> {
    do {
      this.again = false;
      try {
        const revision = await this.o.store.revision();
        if (!this.storeAvailable) this.o.logger.info({ revision }, 'registry store reachable again');
        this.storeAvailable = true;
        if (revision !== this.revision) await this.apply(await this.o.store.snapshot());
      } catch (err) {
        if (unavailable(err)) this.markDown(err);
        else this.o.logger.error({ err }, 'registry sync pass failed');
      }
    } while (this.again && !this.stopped);
  }

  private markDown(err: unknown): void {
    if (this.storeAvailable)
      this.o.logger.warn({ err: (err as Error).message }, 'registry store unreachable: serving the last known state');
    this.storeAvailable = false;
  }

  /** One reconcile pass over a snapshot (see the file comment for the order). */
  private async apply(snapshot: RegistrySnapshot): Promise<void> {
    const desired = desiredVersions(snapshot);
    this.defaultTargets = new Map(
      snapshot.aliases.filter((a) => a.alias === this.defaultAlias).map((a) => [a.model, a.version]),
    );
    // What serves now (aliases and the traffic split) stays loaded until the new tables are in place.
    const keep = unionVersions(desired, servedVersions(this.table), trafficVersions(this.traffic));
    for (const [model, versions] of keep) {
      const records = snapshot.versions.filter((v) => v.model === model && desired.get(model)?.includes(v.version));
      await this.load(model, versions, records);
    }
    const { table, held } = nextAliasTable(snapshot.aliases, this.table, (m, v) => this.isReady(m, v));
    for (const h of held)
      this.o.logger.warn(
        h,
        `alias ${h.model}@${h.alias} → v${h.target} is not READY; ${h.serving === undefined ? 'not served' : `still serving v${h.serving}`}`,
      );
    this.table = table;
    this.traffic = new Map(
      snapshot.traffic.flatMap((t) => {
        const p = effectiveTraffic(t.policy, (v) => this.isReady(t.model, v));
        return p ? [[t.model, p] as const] : [];
      }),
    );
    const final = unionVersions(desired, servedVersions(table));
    for (const model of new Set([...keep.keys(), ...this.served.keys()])) {
      const versions = final.get(model) ?? [];
      if (!sameList(versions, keep.get(model) ?? [])) await this.syncModel(model, versions);
      await pruneModel(this.o.root, model, versions).catch(() => undefined);
    }
    this.served = final;
    this.revision = snapshot.revision;
    this.rolloutRows = snapshot.rollouts ?? [];
    for (const fn of this.applied) fn();
    // A set that did not fully load is tried again at the next change of the registry.
    for (const [model, versions] of desired)
      if (!versions.every((v) => this.isReady(model, v))) this.synced.delete(model);
    await this.writeState(snapshot).catch((err) => this.o.logger.warn({ err }, 'could not save the registry state'));
  }

  private async load(model: string, versions: number[], records: VersionRecord[]): Promise<void> {
    // Versions are immutable: the same set needs no new layout, and re-syncing it would only
    // re-inspect the model files (hundreds of ms) before a warm alias switch.
    if (sameList(this.synced.get(model) ?? [], versions)) return;
    try {
      await layoutModel(this.o.artifacts, this.o.root, model, records);
    } catch (err) {
      this.o.logger.error({ model, err: (err as Error).message }, `laying out ${model} from the artifact store failed`);
    }
    await this.syncModel(model, versions);
  }

  private async syncModel(model: string, versions: number[]): Promise<void> {
    this.synced.set(model, versions);
    try {
      await this.o.repository.sync(model, versions);
    } catch (err) {
      // The repository recorded and logged the failure; the alias stays where it was.
      this.o.logger.warn({ model, versions, err: (err as Error).message }, `registry sync of ${model} incomplete`);
    }
  }

  /** READY, or evicted by the memory budget (a call loads it again): an alias may name it. */
  private isReady(model: string, version: number): boolean {
    try {
      if (this.o.repository.isEvicted?.(model, version)) return true;
      return this.o.repository.readyVersions(model).some((h) => h.version === version);
    } catch {
      return false;
    }
  }

  private async readState(): Promise<RegistrySnapshot | undefined> {
    const text = await readFile(join(this.o.root, STATE_FILE), 'utf8').catch(() => undefined);
    return text === undefined ? undefined : (JSON.parse(text) as RegistrySnapshot);
  }

  private async writeState(snapshot: RegistrySnapshot): Promise<void> {
    const path = join(this.o.root, STATE_FILE);
    await writeFile(`${path}.tmp`, JSON.stringify(snapshot));
    await rename(`${path}.tmp`, path);
  }
}

/** The versions the traffic splits route to or shadow, per model. */
function trafficVersions(traffic: ReadonlyMap<string, TrafficPolicy>): Map<string, number[]> {
  return new Map(
    [...traffic].map(([m, p]) => [
      m,
      [...new Set([...p.arms.map((a) => a.version), ...(p.shadows ?? []).map((x) => x.version)])],
    ]),
  );
}

function unavailable(err: unknown): boolean {
  return err instanceof InferError && err.code === 'IG_ERR_STORE_UNAVAILABLE';
}

function sameList(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}
