/**
 * The model repository: discovery, control modes and the per-version lifecycle state machine
 * (see model-state.ts). Every change to one model runs on that model's serial queue, so loads,
 * reloads, unloads and polls of a model never interleave; different models proceed in parallel.
 */
import { join } from 'node:path';
import { checkFallbackModels, parseConfigOverride, type RawConfig, readModelConfig } from '../config/index.js';
import { InferError, notFound } from '../core/errors.js';
import {
  listModelDirs,
  listModelDirsSync,
  listVersions,
  type ModelSnapshot,
  sameSnapshot,
  snapshotModel,
} from './discovery.js';
import { checkInMemoryPaths, type InMemoryModel, removeInMemoryModel, writeInMemoryModel } from './in-memory.js';
import { VersionSteps } from './lifecycle.js';
import { type BudgetHost, type BudgetReadings, loadedSlots, MemoryBudget } from './memory-budget.js';
import {
  configIn,
  type Entry,
  entryReady,
  evictedTarget,
  indexRows,
  newEntry,
  readyIn,
  slotOf,
  statusesIn,
} from './model-state.js';
import { isSafeModelName } from './names.js';
import { OnDemandLoads, type ReloadContext, reloadEvicted } from './on-demand.js';
import { publicLoadError, publicMessage } from './reasons.js';
import { KeyedSerial } from './serial.js';
import type {
  ModelRepositoryApi,
  ModelRepositoryOptions,
  RepositoryEvent,
  RepositoryIndexEntry,
  RepositoryLoadParams,
  VersionHandle,
  VersionStatus,
} from './types.js';
import { PrepareFailure, type PreparedModel, prepareModel, withVersions } from './version-loader.js';

const CONTROL_MODE_TEXT = 'explicit model load / unload is not allowed if polling is enabled';
const REGISTRY_MODE_TEXT =
  'explicit model load / unload is not allowed in registry control mode: move an alias or pin a version in the registry';

/**
 * How one (re)load runs: `force` reloads READY versions too; `source` replaces the on-disk model;
 * `wake` loads evicted versions too (an explicit load: otherwise they wait for a call).
 */
interface ReconcileOptions {
  force: boolean;
  source?: { modelDir: string; config?: RawConfig; memory?: InMemoryModel };
  wake?: boolean;
}

/** Triton-layout model repository with none / explicit / poll control (protocol.md D.1, D.10, B.3). */
export class ModelRepository implements ModelRepositoryApi {
  private readonly entries = new Map<string, Entry>();
  private readonly serial = new KeyedSerial();
  /** Model directory names seen by the last scan of the root. */
  private onDisk = new Set<string>();
  private pollTimer: NodeJS.Timeout | undefined;
  private pollRun: Promise<void> | undefined;
  private stopped = false;
  private readonly listeners = new Set<(e: RepositoryEvent) => void>();
  private readonly steps: VersionSteps;
  /** The memory budget and its loads on demand; absent when unlimited. */
  private readonly budget: MemoryBudget | undefined;
  private readonly onDemand: OnDemandLoads | undefined;

  constructor(private readonly opts: ModelRepositoryOptions) {
    const b = opts.memoryBudget;
    this.budget = b && b.bytes > 0 ? new MemoryBudget(b, opts.clock, this.budgetHost()) : undefined;
    const emit = (e: RepositoryEvent) => this.emit(e);
    this.steps = new VersionSteps(opts, emit, this.budget);
    const c: ReloadContext = { opts, steps: this.steps, entries: this.entries, emit, roots: this.roots() };
    const reload = (m: string, v: number) => (this.stopped ? Promise.resolve() : reloadEvicted(c, m, v));
    this.onDemand = this.budget && new OnDemandLoads(opts.clock, (m, v) => this.serial.run(m, () => reload(m, v)));
  }

  /** Initial loads: every model (none/poll) or the startup list (explicit); then the poll loop. */
  async start(): Promise<void> {
    const names = await this.scanRoot();
    const mode = this.opts.controlMode;
    const wanted =
      mode === 'registry'
        ? [] // the registry sync decides, through sync()
        : mode === 'explicit'
          ? (this.opts.startupModels ?? []).includes('*')
            ? names
            : [...new Set(this.opts.startupModels ?? [])]
          : names;
    // Entries exist (desired, not ready) before any load finishes, so readiness is never vacuously true.
    for (const m of wanted) this.entryFor(m).desired = true;
    await Promise.all(wanted.map((m) => this.serial.run(m, () => this.startupLoad(m))));
    if (this.opts.controlMode === 'poll') this.schedulePoll();
  }

  private async startupLoad(model: string): Promise<void> {
    if (!this.onDisk.has(model)) {
      const entry = this.entryFor(model);
      entry.attempted = true;
      entry.error = 'model not found in the repository';
      this.emit({ type: 'failed', model, reason: entry.error });
      return;
    }
    await this.reconcile(model, { force: true }).catch(() => undefined); // failure is recorded on the entry
  }

  /** Stops polling, lets queued operations finish, then drains and disposes every version. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.pollTimer);
    await this.pollRun;
    await this.serial.idle();
    await Promise.all([...this.entries.values()].map((e) => this.steps.retireAll(e)));
  }

  abandonQueued(err: InferError): void {
    for (const e of this.entries.values()) for (const s of e.slots.values()) s.live?.scheduler.abandon(err);
  }

  readyVersions(model: string): VersionHandle[] {
    return readyIn(this.entries.get(model), model);
  }

  subscribe(listener: (e: RepositoryEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The normalized config (Triton JSON) of the requested, or else the highest READY, version. */
  modelConfig(model: string, version?: string | number): Record<string, unknown> {
    return configIn(this.entries.get(model), model, version);
  }

  /**
   * Memory budget: the load of the evicted version a call names (shared by every call meanwhile;
   * see on-demand.ts), or undefined when the call names none (no budget, unknown, not evicted).
   */
  ensureResident(model: string, requested: string | undefined): Promise<void> | undefined {
    if (!this.onDemand) return undefined;
    const v = evictedTarget(this.entries.get(model), requested);
    return v === undefined ? undefined : this.onDemand.wake(model, v);
  }

  /** Memory budget: evicted and still desired (a call loads it again). */
  isEvicted(model: string, version: number): boolean {
    const slot = this.entries.get(model)?.slots.get(version);
    return slot?.evicted === true && slot.desired;
  }

  /** Memory budget: a call resolved to this version (its recency for eviction). */
  touch(version: VersionHandle): void {
    this.budget?.touch(version.scheduler);
  }

  /** The budget and what each loaded version holds (metrics); undefined when unlimited. */
  memoryReadings(): BudgetReadings | undefined {
    return this.budget?.readings();
  }

  /** Version states of a known model (metadata, ready, statistics). */
  modelVersions(model: string, version?: string | number): VersionStatus[] {
    return statusesIn(this.entries.get(model), model, version);
  }

  /** Every model on disk (name only when never loaded) and every loaded in-memory model. */
  index(readyOnly: boolean): RepositoryIndexEntry[] {
    // Explicit mode lists models added after start, like Triton's index does.
    if (this.opts.controlMode === 'explicit' && !this.stopped) this.onDisk = new Set(listModelDirsSync(this.opts.root));
    const names = [...new Set([...this.onDisk, ...this.entries.keys()])].sort();
    const rows = names.flatMap((n) => indexRows(n, this.entries.get(n)));
    return readyOnly ? rows.filter((r) => r.state === 'READY') : rows;
  }

  /** True when every model that should be loaded has all its selected versions READY. */
  allReady(): boolean {
    return [...this.entries.values()].every(entryReady);
  }

  /** Explicit-mode load or reload; `params.files` supplies an in-memory model directory. */
  async load(model: string, params: RepositoryLoadParams = {}): Promise<void> {
    this.checkControl();
    if (!isSafeModelName(model)) throw notFound.model(model);
    const files = params.files && Object.keys(params.files).length > 0 ? params.files : undefined;
    if (files && params.config === undefined)
      throw new InferError(
        'IG_ERR_INVALID_ARG',
        `failed to load '${model}': file parameters require a 'config' parameter`,
      );
    if (files) checkInMemoryPaths(files);
    const config = params.config === undefined ? undefined : parseConfigOverride(params.config, model);
    // Queued synchronously, so concurrent calls run in call order.
    return this.serial.run(model, () => this.loadQueued(model, config, files));
  }

  private async loadQueued(model: string, config?: RawConfig, files?: Record<string, Uint8Array>): Promise<void> {
    if (!files) {
      this.onDisk = new Set(await listModelDirs(this.opts.root).catch(() => []));
      if (!this.onDisk.has(model)) throw notFound.model(model);
    }
    const memory = files ? await writeInMemoryModel(model, files) : undefined;
    const modelDir = memory?.modelDir ?? join(this.opts.root, model);
    // Loads on demand read the model again: from the same config override, if any.
    this.entryFor(model).override = memory ? undefined : config;
    try {
      await this.reconcile(model, { force: true, source: { modelDir, config, memory }, wake: true });
    } finally {
      if (memory && !this.steps.usesTempDir(memory.tempDir)) await removeInMemoryModel(memory.tempDir);
    }
  }

  /** Explicit-mode unload: UNLOADING (no new requests), drain in-flight, dispose, UNAVAILABLE. */
  async unload(model: string): Promise<void> {
    this.checkControl();
    const known = this.entries.has(model) || this.serial.busy(model);
    if (!isSafeModelName(model) || (!known && !listModelDirsSync(this.opts.root).includes(model)))
      throw notFound.model(model);
    await this.serial.run(model, async () => {
      const entry = this.entries.get(model);
      if (!entry) return; // on disk but never loaded: nothing to do
      entry.desired = false;
      await this.steps.retireAll(entry);
    });
  }

  /** Registry mode: the given versions, loaded from the model's directory, are all that serve. */
  async sync(model: string, versions: readonly number[]): Promise<void> {
    if (this.opts.controlMode !== 'registry')
      throw new InferError('IG_ERR_UNAVAILABLE', 'sync() is only available in registry control mode');
    if (!isSafeModelName(model)) throw notFound.model(model);
    await this.serial.run(model, async () => {
      if (this.stopped) return;
      if (versions.length === 0) return this.removeServed(model);
      const modelDir = join(this.opts.root, model);
      this.onDisk.add(model);
      // The registry names the versions; the stored config's own policy would pick others.
      const raw = withVersions(await readModelConfig(modelDir, model), versions);
      await this.reconcile(model, { force: false, source: { modelDir, config: raw } });
    });
  }

  /** Retires every version of a model and forgets it (registry mode: no alias or pin names it). */
  private async removeServed(model: string): Promise<void> {
    const entry = this.entries.get(model);
    this.onDisk.delete(model);
    if (!entry) return;
    entry.desired = false;
    await this.steps.retireAll(entry);
    this.entries.delete(model);
  }

  private checkControl(): void {
    if (this.stopped) throw new InferError('IG_ERR_UNAVAILABLE', 'the model repository is shutting down');
    if (this.opts.controlMode === 'registry') throw new InferError('IG_ERR_UNAVAILABLE', REGISTRY_MODE_TEXT);
    if (this.opts.controlMode !== 'explicit') throw new InferError('IG_ERR_UNAVAILABLE', CONTROL_MODE_TEXT);
  }

  private entryFor(model: string): Entry {
    let entry = this.entries.get(model);
    if (!entry) {
      entry = newEntry(model);
      this.entries.set(model, entry);
    }
    return entry;
  }

  private emit(e: RepositoryEvent): void {
    for (const fn of [this.opts.onEvent, ...this.listeners]) {
      try {
        fn?.(e);
      } catch {
        // A listener must never break the lifecycle.
      }
    }
  }

  private roots(extra?: string): string[] {
    return extra ? [extra, this.opts.root] : [this.opts.root];
  }

  private async scanRoot(): Promise<string[]> {
    let names: string[];
    try {
      names = await listModelDirs(this.opts.root);
    } catch (err) {
      throw new InferError('IG_ERR_MODEL_LOAD', 'the model repository directory cannot be read', { cause: err });
    }
    this.onDisk = new Set(names);
    return names;
  }

  /**
   * Brings one model in line with its files (or a load call's source): prepare the config, load
   * selected versions that are new, changed or forced, then retire versions no longer selected.
   * New versions are READY before old ones go; a failure never takes a serving version down.
   */
  private async reconcile(model: string, opts: ReconcileOptions): Promise<void> {
    const entry = this.entryFor(model);
    entry.attempted = true;
    entry.desired = true;
    const modelDir = opts.source?.modelDir ?? join(this.opts.root, model);
    const roots = this.roots(opts.source?.memory?.tempDir);
    const snapshot = opts.source?.memory ? undefined : await snapshotModel(modelDir);
    let prepared: PreparedModel;
    let available: number[];
    try {
      const raw = opts.source?.config ?? (await readModelConfig(modelDir, model));
      available = await listVersions(modelDir);
      prepared = await prepareModel(this.opts.backends, model, modelDir, raw, available, this.opts.modelSource);
      checkFallbackModels(prepared.config, (m) => this.onDisk.has(m) || this.entries.has(m));
    } catch (caught) {
      const err = caught instanceof PrepareFailure ? caught.error : caught;
      const versions = caught instanceof PrepareFailure ? caught.desired : [];
      this.steps.modelFailed(entry, publicMessage(err, roots), snapshot, versions);
      throw publicLoadError(err, model, roots);
    }
    entry.error = undefined;
    for (const w of prepared.warnings) this.emit({ type: 'warning', model, reason: w });
    const failures = await this.loadSelected(entry, prepared, opts, snapshot);
    await this.retireUnselected(entry, prepared.desired, available, failures.length === 0);
    entry.snapshot = snapshot;
    if (failures[0]) throw publicLoadError(failures[0], model, roots);
  }

  private async loadSelected(
    entry: Entry,
    prepared: PreparedModel,
    opts: ReconcileOptions,
    snapshot: ModelSnapshot | undefined,
  ): Promise<unknown[]> {
    const failures: unknown[] = [];
    for (const v of [...prepared.desired].reverse()) {
      const slot = slotOf(entry, v);
      slot.desired = true;
      const sig = snapshot?.versions.get(v);
      const unchanged = !opts.force && sig !== undefined && entry.snapshot?.versions.get(v) === sig;
      if (unchanged && (slot.state === 'READY' || slot.failedSig === sig)) continue;
      if (slot.evicted && !opts.wake) continue; // a call loads it, with the files it finds then
      try {
        await this.steps.loadInto(entry, slot, prepared, opts.source?.memory?.tempDir);
        slot.failedSig = undefined;
      } catch (err) {
        failures.push(err);
        slot.failedSig = sig;
        const reason = publicMessage(err, this.roots(opts.source?.memory?.tempDir));
        this.emit({ type: 'failed', model: entry.name, version: v, reason });
        if (slot.state !== 'READY') Object.assign(slot, { state: 'UNAVAILABLE', reason });
      }
    }
    return failures;
  }

  private async retireUnselected(entry: Entry, desired: number[], available: number[], allLoaded: boolean) {
    for (const slot of [...entry.slots.values()]) {
      if (desired.includes(slot.version)) continue;
      slot.desired = false;
      const removed = !available.includes(slot.version);
      // A version the policy dropped keeps serving until every selected version loaded.
      if (slot.evicted || (slot.live && (removed || allLoaded))) await this.steps.retire(entry, slot);
      if (removed && !slot.live) entry.slots.delete(slot.version);
    }
  }

  private schedulePoll(): void {
    if (this.stopped) return;
    this.pollTimer = setTimeout(() => {
      this.pollRun = this.pollOnce().finally(() => this.schedulePoll());
    }, this.opts.pollIntervalMs ?? 1000);
    this.pollTimer.unref();
  }

  /** One rescan: new models load, removed ones unload, changed ones reconcile. Never throws. */
  private async pollOnce(): Promise<void> {
    let names: string[];
    try {
      names = await listModelDirs(this.opts.root);
    } catch {
      return; // a transiently unreadable root changes nothing
    }
    this.onDisk = new Set(names);
    const gone = [...this.entries.keys()].filter((m) => !this.onDisk.has(m));
    await Promise.all([
      ...gone.map((m) => this.serial.run(m, () => this.removeModel(m))),
      ...names.map((m) => this.serial.run(m, () => this.pollModel(m)).catch(() => undefined)),
    ]);
  }

  private async pollModel(model: string): Promise<void> {
    if (this.stopped) return;
    const entry = this.entryFor(model);
    entry.desired = true;
    const snap = await snapshotModel(join(this.opts.root, model));
    const prev = entry.snapshot;
    if (prev && entry.attempted && sameSnapshot(prev, snap)) return;
    await this.reconcile(model, { force: !prev || prev.root !== snap.root });
  }

  private async removeModel(model: string): Promise<void> {
    const entry = this.entries.get(model);
    if (!entry || this.onDisk.has(model)) return;
    await this.steps.retireAll(entry);
    this.entries.delete(model);
  }

  /** What the memory budget reads and does through the repository (memory-budget.ts). */
  private budgetHost(): BudgetHost {
    return {
      loaded: () => loadedSlots(this.entries),
      queueBusy: (model) => this.serial.busy(model),
      evict: (entry, slot, inQueue) => {
        const finish = this.steps.beginEvict(entry, slot);
        return inQueue ? finish() : this.serial.run(entry.name, finish);
      },
      emit: (e) => this.emit(e),
      stopped: () => this.stopped,
    };
  }
}
