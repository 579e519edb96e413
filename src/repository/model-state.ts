import { notFound } from '../core/errors.js';
import type { ModelState } from '../core/model.js';
import type { ModelSnapshot } from './discovery.js';
import { parseRequestedVersion } from './names.js';
import type { RepositoryIndexEntry, VersionHandle, VersionStatus } from './types.js';
import type { Live } from './version-loader.js';

/**
 * One version's lifecycle: LOADING → READY → UNLOADING → UNAVAILABLE (or LOADING → UNAVAILABLE
 * on failure). While a reload of a READY version runs, the slot stays READY on its old `live`.
 */
export interface Slot {
  version: number;
  state: ModelState;
  reason?: string;
  live?: Live;
  /** Selected by the current policy: strict readiness expects it READY. */
  desired: boolean;
  /** Files signature at which loading failed; an unchanged broken version is not retried by polls. */
  failedSig?: string;
}

/** Everything known about one model name. */
export interface Entry {
  name: string;
  slots: Map<number, Slot>;
  /** Model-level failure (config, no versions) while no version serves. */
  error?: string;
  /** Should be loaded (none/poll: on disk; explicit: loaded and not unloaded). */
  desired: boolean;
  /** A load was ever attempted: the index then shows state, and resolve knows the name. */
  attempted: boolean;
  /** Files seen by the last (re)load, for poll change detection. */
  snapshot?: ModelSnapshot;
}

/** A fresh entry for a model name. */
export function newEntry(name: string): Entry {
  return { name, slots: new Map(), desired: false, attempted: false };
}

/** The slot of a version, created (UNAVAILABLE, not desired) when missing. */
export function slotOf(entry: Entry, version: number): Slot {
  let slot = entry.slots.get(version);
  if (!slot) {
    slot = { version, state: 'UNAVAILABLE', desired: false };
    entry.slots.set(version, slot);
  }
  return slot;
}

function handle(entry: Entry, slot: Slot): VersionHandle {
  const live = slot.live!;
  return {
    model: entry.name,
    version: slot.version,
    spec: live.spec,
    config: live.configJson,
    scheduler: live.scheduler,
  };
}

/** The READY version a request goes to, or Triton's NOT_FOUND / not-ready error. */
export function resolveIn(entry: Entry | undefined, model: string, version?: string | number): VersionHandle {
  if (!entry?.attempted) throw notFound.model(model);
  const v = parseRequestedVersion(version);
  if (v === null) throw notFound.version(model, String(version));
  if (v === undefined) {
    const ready = [...entry.slots.values()].filter((s) => s.state === 'READY' && s.live);
    if (ready.length === 0) throw notFound.noVersions(model);
    return handle(
      entry,
      ready.reduce((a, b) => (b.version > a.version ? b : a)),
    );
  }
  const slot = entry.slots.get(v);
  if (!slot) throw notFound.version(model, v);
  if (slot.state !== 'READY' || !slot.live) throw notFound.notReady(model, v);
  return handle(entry, slot);
}

/** The READY versions of a known model, highest first. */
export function readyIn(entry: Entry | undefined, model: string): VersionHandle[] {
  if (!entry?.attempted) throw notFound.model(model);
  const out: VersionHandle[] = [];
  for (const s of entry.slots.values()) if (s.state === 'READY' && s.live) out.push(handle(entry, s));
  return out.length > 1 ? out.sort((a, b) => b.version - a.version) : out;
}

/** Status rows for a model (or one version), highest version first. */
export function statusesIn(entry: Entry | undefined, model: string, version?: string | number): VersionStatus[] {
  if (!entry?.attempted) throw notFound.model(model);
  const v = parseRequestedVersion(version);
  if (v === null) throw notFound.version(model, String(version));
  const slots = [...entry.slots.values()].sort((a, b) => b.version - a.version);
  const picked = v === undefined ? slots : slots.filter((s) => s.version === v);
  if (v !== undefined && picked.length === 0) throw notFound.version(model, v);
  return picked.map((s) => {
    const row: VersionStatus = { model, version: s.version, state: s.state };
    if (s.reason) row.reason = s.reason;
    if (s.live && s.state === 'READY') {
      row.spec = s.live.spec;
      row.config = s.live.configJson;
      row.platform = String(s.live.configJson['platform'] ?? '');
      row.scheduler = s.live.scheduler;
    }
    return row;
  });
}

/** Index rows of one model: name only when never loaded (protocol.md B.3). */
export function indexRows(name: string, entry: Entry | undefined): RepositoryIndexEntry[] {
  if (!entry?.attempted) return [{ name }];
  const slots = [...entry.slots.values()].sort((a, b) => a.version - b.version);
  if (slots.length === 0)
    return [entry.error ? { name, state: 'UNAVAILABLE', reason: entry.error } : { name, state: 'LOADING' }];
  return slots.map((s) => {
    const row: RepositoryIndexEntry = { name, version: String(s.version), state: s.state };
    if (s.reason) row.reason = s.reason;
    return row;
  });
}

/**
 * Strict readiness of one model: not wanted, or serving (some version READY). A swap in progress
 * (the new version LOADING while the old one serves) and a newer version that failed to load while
 * an older one serves are the model's own state (its version readiness, the repository index),
 * never the server's: behind a load balancer, a bad push must not take every replica out at once.
 */
export function entryReady(entry: Entry): boolean {
  if (!entry.desired) return true;
  for (const s of entry.slots.values()) if (s.state === 'READY' && s.live) return true;
  return false;
}
