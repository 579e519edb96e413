/** Route name → handler, and the one function the fastify adapter calls per request. */
import { toHttpError } from './errors.js';
import * as admin from './handlers-admin.js';
import * as models from './handlers-models.js';
import * as shm from './handlers-shm.js';
import { privacyErase } from './handlers-privacy.js';
import * as registry from './handlers-registry.js';
import * as rollout from './handlers-rollout.js';
import { tracedInfer } from './infer-traced.js';
import { matchRoute, type RouteName } from './routes.js';
import type { Handler, HandlerDeps, HttpRequestData, HttpResult } from './types.js';

const HANDLERS: Record<RouteName, Handler> = {
  serverMetadata: models.serverMetadata,
  live: models.live,
  ready: models.ready,
  modelReady: models.modelReady,
  modelMetadata: models.modelMetadata,
  modelConfig: models.modelConfig,
  stats: admin.stats,
  infer: tracedInfer,
  repositoryIndex: admin.repositoryIndex,
  load: admin.load,
  unload: admin.unload,
  namedRepository: admin.namedRepository,
  logging: admin.logging,
  traceSetting: admin.traceSetting,
  shmStatus: shm.shmStatus,
  shmRegister: shm.shmRegister,
  shmUnregister: shm.shmUnregister,
  cudaShmStatus: shm.cudaShmStatus,
  cudaShmRegister: shm.cudaShmRegister,
  cudaShmUnregister: shm.cudaShmUnregister,
  registryStatus: registry.registryStatus,
  registryModels: registry.registryModels,
  registryModel: registry.registryModel,
  registryVersion: registry.registryVersion,
  registryPromote: registry.registryPromote,
  registryAlias: registry.registryAlias,
  registryHistory: registry.registryHistory,
  registryAudit: registry.registryAudit,
  registryVerify: registry.registryVerify,
  rolloutList: rollout.rolloutList,
  rollout: rollout.rollout,
  rolloutPause: rollout.rolloutPause,
  rolloutResume: rollout.rolloutResume,
  rolloutAbort: rollout.rolloutAbort,
  rolloutPromote: rollout.rolloutPromote,
  rolloutReport: rollout.rolloutReport,
  rolloutTraffic: rollout.rolloutTraffic,
  privacyErase,
};

/** Routes and runs one request; never throws: failures become `{"error": …}` results. */
export async function dispatch(
  deps: HandlerDeps,
  req: HttpRequestData,
  onInternal?: (err: unknown) => void,
): Promise<HttpResult> {
  try {
    const match = req.match ?? matchRoute(req.method, req.url, deps.versionAliases === true);
    return await HANDLERS[match.name](deps, match, req);
  } catch (err) {
    const e = toHttpError(err, onInternal);
    return { status: e.status, body: e.body, headers: e.headers };
  }
}
