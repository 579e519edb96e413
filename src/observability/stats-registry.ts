import type { ModelStatistics } from '../core/index.js';
import { VersionStats } from './stats.js';

/**
 * All per-version statistics, keyed by model and version; shared by the schedulers, the router and
 * the metric families (which read it at scrape time, so a version's series exist exactly while it
 * is registered here: created at load, dropped at unload).
 */
export class StatsRegistry {
  private readonly byKey = new Map<string, VersionStats>();

  /** The counters of one version, created at first use. */
  get(model: string, version: string | number): VersionStats {
    const key = `${model}\u0000${version}`;
    let s = this.byKey.get(key);
    if (!s) {
      s = new VersionStats(model, String(version));
      this.byKey.set(key, s);
    }
    return s;
  }

  /** The counters of one version if it is registered (never creates). */
  peek(model: string, version: string | number): VersionStats | undefined {
    return this.byKey.get(`${model}\u0000${version}`);
  }

  /** Forgets a version (after unload), so a later load starts from zero as Triton does. */
  drop(model: string, version: string | number): void {
    this.byKey.delete(`${model}\u0000${version}`);
  }

  /** Every registered version, for the metric families. */
  all(): IterableIterator<VersionStats> {
    return this.byKey.values();
  }

  /** Snapshots for the given versions (zeroed entries for versions without traffic). */
  snapshot(versions: Array<{ model: string; version: string | number }>): ModelStatistics[] {
    return versions.map((v) => this.get(v.model, v.version).snapshot());
  }
}
