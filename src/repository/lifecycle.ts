/**
 * The steps that move one version's slot through its lifecycle (model-state.ts): load beside what
 * serves and swap once READY, retire (drain, dispose, 'unloaded'), and evict (the memory budget's
 * retire: the slot stays desired, as evicted). The repository runs them inside the model's serial
 * queue; only the start of an eviction is synchronous (memory-budget.ts says why).
 */
import type { ModelVersionSpec } from '../core/model.js';
import { removeInMemoryModel } from './in-memory.js';
import type { MemoryBudget } from './memory-budget.js';
import type { ModelSnapshot } from './discovery.js';
import { type Entry, type Slot, slotOf } from './model-state.js';
import { EVICTED_REASON } from './residency.js';
import type { ModelRepositoryOptions, RepositoryEvent } from './types.js';
import { disposeLive, type Live, loadVersion, type PreparedModel } from './version-loader.js';

export class VersionSteps {
  /** Versions using each in-memory model's temp directory: removed with the last one. */
  private readonly tempRefs = new Map<string, number>();

  constructor(
    private readonly o: ModelRepositoryOptions,
    private readonly emit: (e: RepositoryEvent) => void,
    private readonly budget: MemoryBudget | undefined,
  ) {}

  /** True while a loaded version still uses the temp directory. */
  usesTempDir(dir: string): boolean {
    return this.tempRefs.has(dir);
  }

  /** Loads a version beside whatever serves it now; swaps only once the new one is READY. */
  async loadInto(entry: Entry, slot: Slot, prepared: PreparedModel, tempDir?: string): Promise<void> {
    // An evicted slot stays evicted until the swap: calls meanwhile join this load (on-demand.ts).
    if (slot.state !== 'READY') Object.assign(slot, { state: 'LOADING', reason: undefined });
    this.emit({ type: 'loading', model: entry.name, version: slot.version });
    const t0 = this.o.clock.now();
    const budget = this.budget;
    const admit = budget && ((spec: ModelVersionSpec) => budget.admit(entry.name, slot.version, spec));
    let live: Live;
    try {
      live = await loadVersion(
        this.o.createScheduler,
        prepared,
        slot.version,
        { onEvent: this.o.onInstanceEvent },
        admit,
      );
    } catch (err) {
      budget?.failed(entry.name, slot.version);
      throw err;
    }
    budget?.loaded(entry.name, slot.version, live);
    if (tempDir) {
      live.tempDir = tempDir;
      this.tempRefs.set(tempDir, (this.tempRefs.get(tempDir) ?? 0) + 1);
    }
    const old = slot.live;
    Object.assign(slot, { live, state: 'READY', reason: undefined, evicted: false, dormant: undefined });
    this.emit({ type: 'ready', model: entry.name, version: slot.version, ms: this.o.clock.now() - t0 });
    if (old) await this.release(old);
    await budget?.settle(entry.name, slot.version);
  }

  /**
   * READY → UNLOADING → (drain, dispose) → UNAVAILABLE 'unloaded'. An evicted version ends here too
   * (unload, files removed, no longer named): it is never loaded on demand again.
   */
  async retire(entry: Entry, slot: Slot): Promise<void> {
    const live = slot.live;
    if (!live) {
      if (!slot.evicted) return;
      Object.assign(slot, {
        evicted: false,
        dormant: undefined,
        state: 'UNAVAILABLE',
        reason: 'unloaded',
        desired: false,
      });
      this.emit({ type: 'unloaded', model: entry.name, version: slot.version, ms: 0 });
      return;
    }
    Object.assign(slot, { state: 'UNLOADING', reason: undefined });
    this.emit({ type: 'unloading', model: entry.name, version: slot.version });
    const t0 = this.o.clock.now();
    await this.release(live);
    const gone = { evicted: false, dormant: undefined, desired: false };
    Object.assign(slot, { live: undefined, state: 'UNAVAILABLE', reason: 'unloaded', ...gone });
    this.emit({ type: 'unloaded', model: entry.name, version: slot.version, ms: this.o.clock.now() - t0 });
  }

  /** A failure before any version loaded: selected versions (if known) or the model carry the reason. */
  modelFailed(entry: Entry, reason: string, snapshot: ModelSnapshot | undefined, versions: number[]): void {
    entry.snapshot = snapshot;
    for (const v of versions) {
      const slot = slotOf(entry, v);
      slot.desired = true;
      slot.failedSig = snapshot?.versions.get(v);
      // A serving version keeps serving; the failure then shows in the log only.
      if (slot.state !== 'READY') Object.assign(slot, { state: 'UNAVAILABLE', reason });
      this.emit({ type: 'failed', model: entry.name, version: v, reason });
    }
    if (versions.length > 0) return;
    this.emit({ type: 'failed', model: entry.name, reason });
    if (![...entry.slots.values()].some((s) => s.state === 'READY')) entry.error = reason;
  }

  /** Retires every version of the model. */
  async retireAll(entry: Entry): Promise<void> {
    await Promise.all([...entry.slots.values()].map((s) => this.retire(entry, s)));
  }

  /**
   * Starts evicting a READY version: UNLOADING now, so no call and no other load picks it; the
   * returned step drains and disposes it and leaves the slot evicted (still desired). Its
   * statistics stay: the version comes back, and its counters go on from where they were.
   */
  beginEvict(entry: Entry, slot: Slot): () => Promise<void> {
    const live = slot.live as Live;
    // Evicted from now on: a call meanwhile queues its load behind this eviction (on-demand.ts).
    // Metadata and config answer from the last spec, never holding the model bytes.
    const { source: _bytes, ...spec } = live.spec;
    const dormant = { spec, configJson: live.configJson, io: live.io, stamp: live.stamp };
    Object.assign(slot, { state: 'UNLOADING', reason: EVICTED_REASON, evicted: true, dormant });
    return async () => {
      const t0 = this.o.clock.now();
      await this.release(live);
      Object.assign(slot, { live: undefined, state: 'UNAVAILABLE', reason: EVICTED_REASON });
      const bytes = live.loaded.memoryBytes;
      this.emit({ type: 'evicted', model: entry.name, version: slot.version, bytes, ms: this.o.clock.now() - t0 });
    };
  }

  async release(live: Live): Promise<void> {
    const problem = await disposeLive(live);
    if (problem) this.emit({ type: 'warning', model: live.spec.model, version: live.spec.version, reason: problem });
    if (!live.tempDir) return;
    const left = (this.tempRefs.get(live.tempDir) ?? 1) - 1;
    if (left > 0) this.tempRefs.set(live.tempDir, left);
    else {
      this.tempRefs.delete(live.tempDir);
      await removeInMemoryModel(live.tempDir);
    }
  }
}
