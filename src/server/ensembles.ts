/**
 * What an ensemble's load learns about its step models, read from the repository: a step model
 * READY now answers at once; one still loading is waited for (the startup loads every model at
 * the same time, in no particular order); one that is not in the repository, or whose load
 * failed, refuses the ensemble's load at once, naming why.
 */
import type { ModelVersionSpec } from '../core/index.js';
import type { StepModels } from '../ensemble/backend.js';
import type { ModelRepositoryApi } from '../repository/types.js';

/** `repository` is read at load time: it is built after the backends it is given. */
export function repositorySteps(current: () => ModelRepositoryApi | undefined): StepModels {
  return {
    whenReady(model, version, signal) {
      const repository = current();
      if (repository === undefined) return Promise.reject(new Error('the model repository is not open yet'));
      return new Promise<ModelVersionSpec>((resolve, reject) => {
        const which = version < 0 ? `model '${model}'` : `model '${model}' version ${version}`;
        const done = (settle: () => void) => {
          unsubscribe();
          signal.removeEventListener('abort', onAbort);
          settle();
        };
        const check = () => {
          const ready = readyOf(repository, model).filter((h) => version < 0 || h.version === version);
          const best = ready.sort((a, b) => b.version - a.version)[0];
          if (best !== undefined) return done(() => resolve(best.spec));
          const rows = repository.index(false).filter((r) => r.name === model);
          if (rows.length === 0) return done(() => reject(new Error(`${which} is not in the model repository`)));
          const row = rows.find((r) => version < 0 || r.version === String(version));
          if (row?.state === 'UNAVAILABLE' && row.reason)
            return done(() => reject(new Error(`${which} is not available: ${row.reason}`)));
        };
        const onAbort = () => done(() => reject(new Error(`${which} did not become READY in time`)));
        const unsubscribe = repository.subscribe((e) => {
          if (e.model !== model) return;
          // The event comes before the index shows the failure: take its reason as it is.
          if (e.type === 'failed' && (version < 0 || e.version === version) && e.reason)
            return done(() => reject(new Error(`${which} is not available: ${e.reason}`)));
          check();
        });
        signal.addEventListener('abort', onAbort, { once: true });
        check();
      });
    },
  };
}

/** The model's READY versions; none while the repository does not know it (yet). */
function readyOf(repository: ModelRepositoryApi, model: string) {
  try {
    return repository.readyVersions(model);
  } catch {
    return [];
  }
}
