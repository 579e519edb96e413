/**
 * The backends a server runs, found by the names a Triton model config uses: its `backend`
 * (e.g. 'onnxruntime') or its `platform` (e.g. 'onnxruntime_onnx'). The composition root
 * registers them; the repository picks each model's backend through the BackendLookup interface.
 */
import { InferError } from '../core/index.js';
import type { Backend, BackendLookup } from './types.js';

/** `name (platform, …)` for each backend, as error texts list them. */
function describeBackends(backends: readonly Backend[]): string {
  if (backends.length === 0) return 'none';
  return backends.map((b) => (b.platforms.length > 0 ? `${b.name} (${b.platforms.join(', ')})` : b.name)).join(', ');
}

/** Backends by Triton backend and platform name; owns them: close() closes every one. */
export class BackendRegistry implements BackendLookup {
  readonly #backends: Backend[] = [];

  constructor(backends: readonly Backend[] = []) {
    for (const b of backends) this.register(b);
  }

  /** Adds a backend; throws when its name or one of its platforms is already taken (a lookup must be unambiguous). */
  register(backend: Backend): void {
    for (const b of this.#backends) {
      if (b.name === backend.name) throw new Error(`a backend named '${backend.name}' is already registered`);
      const shared = backend.platforms.find((p) => b.platforms.includes(p));
      if (shared !== undefined) throw new Error(`platform '${shared}' is already served by backend '${b.name}'`);
    }
    this.#backends.push(backend);
  }

  list(): readonly Backend[] {
    return this.#backends;
  }

  byName(name: string): Backend {
    const b = this.#backends.find((x) => x.name === name);
    if (b === undefined) throw this.#unknown(`backend '${name}' is not available`);
    return b;
  }

  byPlatform(platform: string): Backend {
    const b = this.#backends.find((x) => x.platforms.includes(platform));
    if (b === undefined) throw this.#unknown(`platform '${platform}' has no backend`);
    return b;
  }

  /** Closes every registered backend (all are attempted; the first failure is rethrown). */
  async close(): Promise<void> {
    const results = await Promise.allSettled(this.#backends.map((b) => b.close()));
    const failed = results.find((r) => r.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
  }

  #unknown(what: string): InferError {
    return new InferError(
      'IG_ERR_MODEL_LOAD',
      `${what} in this server; available: ${describeBackends(this.#backends)}`,
    );
  }
}
