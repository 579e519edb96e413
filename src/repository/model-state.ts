import type { RawConfig } from '../config/read-config.js';
import { notFound } from '../core/errors.js';
import type { ModelIO, ModelState, ModelVersionSpec } from '../core/model.js';
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
  /**
   * Unloaded by the memory budget, still desired: a call loads it again (on demand), strict
   * readiness counts it as serving, and only an unload, removed files or a registry sync that no
   * longer names it end it for good.
   */
  evicted?: boolean;
  /**
   * While evicted: what metadata and config answer from (the spec without model bytes), and the
   * file's signature and stamp, reused by the next load while the file is unchanged.
   */
  dormant?: { spec: ModelVersionSpec; configJson: Record<string, unknown>; io: ModelIO; stamp?: string };
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
  /** The config a load call supplied (explicit mode): loads on demand use it too. */
  override?: RawConfig;
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

/** The config of a READY version, or of an evicted one (it answers calls: they load it). */
function configOf(s: Slot): Record<string, unknown> | undefined {
  if (s.state === 'READY' && s.live) return s.live.configJson;
  return s.evicted ? s.dormant?.configJson : undefined;
}

/** The config (Triton JSON) of the requested version, else the highest READY (else evicted) one; Triton's errors. */
export function configIn(entry: Entry | undefined, model: string, version?: string | number): Record<string, unknown> {
  if (!entry?.attempted) throw notFound.model(model);
  const v = parseRequestedVersion(version);
  if (v === null) throw notFound.version(model, String(version));
  if (v === undefined) {
    const slots = [...entry.slots.values()].sort((a, b) => b.version - a.version);
    const best = slots.find((s) => s.state === 'READY' && s.live) ?? slots.find((s) => configOf(s));
    if (!best) throw notFound.noVersions(model);
    return configOf(best)!;
  }
  const slot = entry.slots.get(v);
  if (!slot) throw notFound.version(model, v);
  const config = configOf(slot);
  if (!config) throw notFound.notReady(model, v);
  return config;
}

/**
 * The evicted version a call names, which a load on demand would serve: the requested one, or for
 * a call naming none while no version is READY, the highest evicted one. Undefined otherwise.
 */
export function evictedTarget(entry: Entry | undefined, requested: string | undefined): number | undefined {
  if (!entry) return undefined;
  if (requested === undefined || requested === '') {
    let best: number | undefined;
    for (const s of entry.slots.values()) {
      if (s.state === 'READY' && s.live) return undefined;
      if (s.evicted && s.desired && (best === undefined || s.version > best)) best = s.version;
    }
    return best;
  }
  const v = parseRequestedVersion(requested);
  const slot = typeof v === 'number' ? entry.slots.get(v) : undefined;
  return slot?.evicted && slot.desired ? slot.version : undefined;
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
    } else if (s.evicted && s.dormant) {
      row.evicted = true;
      row.spec = s.dormant.spec;
      row.config = s.dormant.configJson;
      row.platform = String(s.dormant.configJson['platform'] ?? '');
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
 * Strict readiness of one model: not wanted, or serving (some version READY, or evicted by the
 * memory budget: calls load it, so eviction never takes a replica out of rotation). A swap in progress
 * (the new version LOADING while the old one serves) and a newer version that failed to load while
 * an older one serves are the model's own state (its version readiness, the repository index),
 * never the server's: behind a load balancer, a bad push must not take every replica out at once.
 */
export function entryReady(entry: Entry): boolean {
  if (!entry.desired) return true;
  for (const s of entry.slots.values()) if ((s.state === 'READY' && s.live) || s.evicted) return true;
  return false;
}
