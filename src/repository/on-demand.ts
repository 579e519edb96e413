/**
 * Loads of evicted versions that calls ask for (memory budget, docs/memory.md). Every call for the
 * same version while its load runs shares that one load; a load that failed answers the calls of
 * its back-off window (residency.ts: 1 s doubling to 30 s) with the same error at once, and the
 * first call after the window tries again.
 */
import { join } from 'node:path';
import { readModelConfig } from '../config/index.js';
import type { Clock } from '../core/clock.js';
import { fileStamp } from './discovery.js';
import type { VersionSteps } from './lifecycle.js';
import type { Entry } from './model-state.js';
import { publicLoadError, publicMessage } from './reasons.js';
import { EVICTED_REASON, inBackoff, type LoadFailure, nextFailure } from './residency.js';
import type { ModelRepositoryOptions, RepositoryEvent } from './types.js';
import { PrepareFailure, prepareModel, withVersions } from './version-loader.js';

export class OnDemandLoads {
  private readonly running = new Map<string, Promise<void>>();
  private readonly failures = new Map<string, LoadFailure>();

  constructor(
    private readonly clock: Clock,
    /** Loads one evicted version (through its model's serial queue); rejects with the client-facing error. */
    private readonly load: (model: string, version: number) => Promise<void>,
  ) {}

  /** Resolves once the version is loaded (or no longer evicted); rejects with its load's error. */
  wake(model: string, version: number): Promise<void> {
    const key = `${model}\0${version}`;
    const running = this.running.get(key);
    if (running) return running;
    const failed = this.failures.get(key);
    if (inBackoff(failed, this.clock.now())) return Promise.reject(failed.error);
    const p = this.load(model, version).then(
      () => {
        this.failures.delete(key);
        this.running.delete(key);
      },
      (err: unknown) => {
        this.failures.set(key, nextFailure(failed, err, this.clock.now()));
        this.running.delete(key);
        throw err;
      },
    );
    this.running.set(key, p);
    return p;
  }
}

/** What a reload reads from the repository. */
export interface ReloadContext {
  opts: ModelRepositoryOptions;
  steps: VersionSteps;
  entries: ReadonlyMap<string, Entry>;
  emit: (e: RepositoryEvent) => void;
  /** Directories cut from client-facing messages. */
  roots: string[];
}

/**
 * Loads one evicted version again (run in its model's serial queue) from its files, or from the
 * load call's config; the slot stays evicted when that fails. Nothing to do when it was unloaded
 * or loaded meanwhile: the caller resolves again.
 */
export async function reloadEvicted(c: ReloadContext, model: string, version: number): Promise<void> {
  const entry = c.entries.get(model);
  const slot = entry?.slots.get(version);
  if (!entry || !slot?.evicted || !slot.desired) return;
  const t0 = c.opts.clock.now();
  const modelDir = join(c.opts.root, model);
  try {
    const raw = withVersions(entry.override ?? (await readModelConfig(modelDir, model)), [version]);
    const d = slot.dormant;
    const unchanged = d?.stamp !== undefined && (await fileStamp(d.spec.path)) === d.stamp;
    const known = unchanged && d ? new Map([[version, d.io]]) : undefined;
    const { backends, modelSource } = c.opts;
    const prepared = await prepareModel(backends, model, modelDir, raw, [version], modelSource, known);
    await c.steps.loadInto(entry, slot, prepared);
  } catch (caught) {
    const err = caught instanceof PrepareFailure ? caught.error : caught;
    const reason = `${EVICTED_REASON}; loading it on demand failed: ${publicMessage(err, c.roots)}`;
    if (!slot.live) Object.assign(slot, { state: 'UNAVAILABLE', reason });
    c.emit({ type: 'on-demand', model, version, ms: c.opts.clock.now() - t0, reason });
    throw publicLoadError(err, model, c.roots);
  }
  c.emit({ type: 'on-demand', model, version, ms: c.opts.clock.now() - t0 });
}
