/**
 * The backends a server runs, registered once here: onnxruntime, plus the backends that compose
 * models (ensembles, TypeScript models, configured steps). Those reach other models through a
 * `ModelCaller` that exists only once the router does, so they get a late-bound one: the
 * composition root binds it right after building the router, before any call can arrive.
 */
import { OrtBackend } from '../backend/ort/backend.js';
import { BackendRegistry } from '../backend/registry.js';
import type { Backend } from '../backend/types.js';
import {
  type CallContext,
  InferError,
  type InferRequest,
  type InferResponse,
  type ModelCaller,
} from '../core/index.js';
import { FeatureStoreBackend } from '../backend/feature-store/backend.js';
import { type ModelLogger, TypeScriptBackend } from '../backend/typescript/backend.js';
import { EnsembleBackend } from '../ensemble/backend.js';
import type { ModelRepositoryApi } from '../repository/types.js';
import { secretFromEnv } from './auth.js';
import { repositorySteps } from './ensembles.js';
import type { ServerOptions } from './options.js';

/** A ModelCaller whose target is given later (Router.caller); calls before that are refused. */
export class LateCaller implements ModelCaller {
  #target: ModelCaller | undefined;

  bind(target: ModelCaller): void {
    this.#target = target;
  }

  infer(request: InferRequest, parent: CallContext): Promise<InferResponse> {
    if (this.#target === undefined)
      return Promise.reject(
        new InferError('IG_ERR_UNAVAILABLE', `model '${request.model}' cannot be called yet: the server is starting`),
      );
    return this.#target.infer(request, parent);
  }
}

/**
 * What startServer gets back: the registry, the ORT backend (its worker readings), and the two
 * things that exist later than the backends: the router (`caller.bind`) and the repository
 * (`repository.bind`, which ensemble loads read their step models from).
 */
export interface ServerBackends {
  registry: BackendRegistry;
  ort: OrtBackend | undefined;
  caller: LateCaller;
  repository: { bind(repository: ModelRepositoryApi): void };
}

/** `replacement` (a test's backend) stands in for onnxruntime; the composing backends are always there. */
export function openServerBackends(o: ServerOptions, replacement?: Backend, logger?: ModelLogger): ServerBackends {
  const caller = new LateCaller();
  const ort = replacement
    ? undefined
    : new OrtBackend({ sharedWorkers: o.sharedWorkers, sharedMaxBytes: o.sharedWorkerMaxBytes });
  let repository: ModelRepositoryApi | undefined;
  const steps = repositorySteps(() => repository);
  const featureStore = new FeatureStoreBackend({
    redisUrl: o.featureStoreRedis ?? secretFromEnv('INFERGATE_FEATURE_STORE_REDIS'),
  });
  const typescript = new TypeScriptBackend({ caller, ...(logger ? { logger } : {}) });
  const registry = new BackendRegistry([
    replacement ?? ort!,
    new EnsembleBackend(caller, steps),
    featureStore,
    typescript,
  ]);
  return {
    registry,
    ort,
    caller,
    repository: {
      bind: (r) => {
        repository = r;
      },
    },
  };
}
