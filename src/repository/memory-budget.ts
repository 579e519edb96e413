/**
 * The model memory budget (`--model-memory-budget`, docs/memory.md), ModelMesh's residency inside
 * one server: loaded versions hold at most `bytes` together (LoadedModel.memoryBytes, measured by
 * the backend after warm-up); a load that needs room evicts idle, unpinned versions, least
 * recently used first. residency.ts decides; this class applies: it keeps the recency order, the
 * sizes measured last time, the reservations of loads in progress, and starts the evictions.
 *
 * Evictions never wait on another model's serial queue, so two models loading at once cannot
 * deadlock: a version is chosen only when its model has nothing queued (or it is the loading
 * model's own, evicted inline), it leaves the routing table at once (UNLOADING, synchronously,
 * so no call and no other load picks it), and its drain and dispose run first in its queue.
 * A load waits for every eviction in progress before it starts, so the memory is free first.
 */
import { stat } from 'node:fs/promises';
import { loadError } from '../config/errors.js';
import type { Clock } from '../core/clock.js';
import type { ModelVersionSpec } from '../core/model.js';
import type { Scheduler } from '../scheduler/types.js';
import type { Entry, Slot } from './model-state.js';
import {
  estimateNeed,
  formatBytes,
  noRoomText,
  planRoom,
  planSettle,
  type ResidentVersion,
  tooLargeText,
} from './residency.js';
import type { MemoryBudgetOptions, RepositoryEvent } from './types.js';
import type { Live } from './version-loader.js';

/** What the budget needs from the repository. */
export interface BudgetHost {
  /** Every slot that holds a loaded version. */
  loaded(): Iterable<{ entry: Entry; slot: Slot; live: Live }>;
  /** A load or unload of the model is queued or running. */
  queueBusy(model: string): boolean;
  /**
   * Evicts a READY, idle version: it leaves routing before this returns; the promise settles once
   * it is disposed. `inQueue`: the caller runs inside that model's serial queue already.
   */
  evict(entry: Entry, slot: Slot, inQueue: boolean): Promise<void>;
  emit(e: RepositoryEvent): void;
  stopped(): boolean;
}

/** Every slot of `entries` that holds a loaded version. */
export function* loadedSlots(entries: ReadonlyMap<string, Entry>): Generator<{ entry: Entry; slot: Slot; live: Live }> {
  for (const entry of entries.values())
    for (const slot of entry.slots.values()) if (slot.live) yield { entry, slot, live: slot.live };
}

interface Row extends ResidentVersion {
  entry: Entry;
  slot: Slot;
  live: Live;
}

const key = (model: string, version: number) => `${model}\0${version}`;

/** What /metrics reads: the budget and each loaded version's bytes. */
export interface BudgetReadings {
  budget: number;
  resident: Array<{ model: string; version: number; bytes: number }>;
}

export class MemoryBudget {
  private seq = 0;
  /** Last use per loaded version, keyed by its scheduler (one per load: a reload starts afresh). */
  private readonly recency = new WeakMap<Scheduler, number>();
  private readonly measured = new Map<string, number>();
  private readonly reserved = new Map<string, number>();
  /** Versions being evicted: their bytes are as good as free to the planner. */
  private readonly leaving = new WeakSet<Live>();
  private readonly evicting = new Set<Promise<void>>();
  private readonly waitMs: number;
  private readonly pollMs: number;

  constructor(
    private readonly o: MemoryBudgetOptions,
    private readonly clock: Clock,
    private readonly host: BudgetHost,
  ) {
    this.waitMs = o.waitMs ?? 10_000;
    this.pollMs = o.pollMs ?? 10;
  }

  /** A call resolved to this version (the router's policy, once per call): it is the most recent. */
  touch(scheduler: Scheduler): void {
    this.recency.set(scheduler, ++this.seq);
  }

  /**
   * Makes room for a version about to load (called right before the backend loads it), waiting up
   * to `waitMs` while busy versions hold the room it needs. Rejects with IG_ERR_MODEL_LOAD naming
   * the sizes when it cannot fit. On success a reservation holds until `loaded` or `failed`.
   */
  async admit(model: string, version: number, spec: ModelVersionSpec): Promise<void> {
    const fileBytes = spec.source?.bytes.byteLength ?? (await stat(spec.path)).size;
    const { need, floor } = estimateNeed(fileBytes, spec.instances, this.measured.get(key(model, version)));
    const giveUpAt = this.clock.now() + this.waitMs;
    for (;;) {
      const resident = this.rows(model, version, true);
      const plan = planRoom({ budget: this.o.bytes, need, floor, reserved: this.reservedBytes(), resident });
      if (plan.kind === 'fit') {
        this.reserved.set(key(model, version), need);
        for (const r of plan.evict) this.startEvict(r, model);
        await Promise.all(this.evicting);
        return;
      }
      if (plan.kind === 'refuse' && plan.why === 'too-large')
        throw loadError(model, tooLargeText(version, floor, this.o.bytes));
      if (plan.kind === 'refuse' || this.clock.now() >= giveUpAt || this.host.stopped())
        throw loadError(model, noRoomText(version, need, this.o.bytes, resident, this.reservedBytes()));
      await new Promise((r) => setTimeout(r, this.pollMs));
    }
  }

  /** The load failed: its reservation goes. */
  failed(model: string, version: number): void {
    this.reserved.delete(key(model, version));
  }

  /**
   * The load finished: its measured size replaces the reservation. The smallest size measured for
   * the version is what it counts for, now and at its next load: the backend measures process-wide
   * RSS growth, so other activity at the same moment can only add to a measurement. A version that
   * still counts for more than the whole budget stays (its file fit): a warning, and the settle
   * that follows evicts every idle version.
   */
  loaded(model: string, version: number, live: Live): void {
    const k = key(model, version);
    this.reserved.delete(k);
    this.measured.set(k, Math.min(this.measured.get(k) ?? Number.POSITIVE_INFINITY, live.loaded.memoryBytes));
    this.touch(live.scheduler);
    const bytes = this.bytesOf(model, version, live);
    if (bytes > this.o.bytes)
      this.host.emit({
        type: 'warning',
        model,
        version,
        reason: `measured ${formatBytes(bytes)} after loading, more than the whole model memory budget of ${formatBytes(this.o.bytes)}`,
      });
  }

  /** After a load is in place: evicts idle versions while the measured sizes exceed the budget. */
  async settle(model: string, version: number): Promise<void> {
    const { evict, over } = planSettle(this.o.bytes, this.reservedBytes(), this.rows(model, version));
    for (const r of evict) this.startEvict(r, model);
    if (over > 0)
      this.host.emit({
        type: 'warning',
        model,
        reason: `the model memory budget is exceeded by ${over} bytes until busy versions go idle`,
      });
    await Promise.all(this.evicting);
  }

  readings(): BudgetReadings {
    const resident = [...this.host.loaded()].map(({ entry, slot, live }) => ({
      model: entry.name,
      version: slot.version,
      bytes: this.bytesOf(entry.name, slot.version, live),
    }));
    return { budget: this.o.bytes, resident };
  }

  /**
   * Loaded versions but those already leaving. `model` is the caller's (its queue is the caller's
   * own) and `version` the one it loads: never evicted, and while it loads, the copy that serves it
   * until the swap is not counted (a reload of a serving version holds both copies for that while).
   */
  private rows(model: string, version: number, loading = false): Row[] {
    const out: Row[] = [];
    for (const { entry, slot, live } of this.host.loaded()) {
      const m = entry.name;
      if (this.leaving.has(live) || (loading && m === model && slot.version === version)) continue;
      const s = live.scheduler;
      out.push({
        entry,
        slot,
        live,
        model: m,
        version: slot.version,
        bytes: this.bytesOf(m, slot.version, live),
        lastUsed: this.recency.get(s) ?? 0,
        pinned: live.spec.pinned === true || live.tempDir !== undefined || this.o.pinned?.(m, slot.version) === true,
        busy:
          slot.state !== 'READY' ||
          s.pending + s.inflight > 0 ||
          (m === model ? slot.version === version : this.host.queueBusy(m)),
      });
    }
    return out;
  }

  /** What a loaded version counts for: its own measurement, or a smaller one of an earlier load. */
  private bytesOf(model: string, version: number, live: Live): number {
    return Math.min(live.loaded.memoryBytes, this.measured.get(key(model, version)) ?? Number.POSITIVE_INFINITY);
  }

  private reservedBytes(): number {
    let n = 0;
    for (const b of this.reserved.values()) n += b;
    return n;
  }

  private startEvict(r: Row, model: string): void {
    this.leaving.add(r.live);
    const done = this.host.evict(r.entry, r.slot, r.model === model).catch(() => undefined);
    this.evicting.add(done);
    void done.then(() => this.evicting.delete(done));
  }
}
