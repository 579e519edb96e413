import type { ModelStatistics } from '../core/index.js';
import { VersionStats } from './stats.js';

/** All per-version statistics, keyed by model and version; shared by the schedulers and the router. */
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

  /** Forgets a version (after unload), so a later load starts from zero as Triton does. */
  drop(model: string, version: string | number): void {
    this.byKey.delete(`${model}\u0000${version}`);
  }

  /** Snapshots for the given versions (zeroed entries for versions without traffic). */
  snapshot(versions: Array<{ model: string; version: string | number }>): ModelStatistics[] {
    return versions.map((v) => this.get(v.model, v.version).snapshot());
  }
}
