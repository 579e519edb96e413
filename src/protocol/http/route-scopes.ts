/**
 * What each HTTP route needs (auth/): health is open; metadata, config, statistics and listings
 * need `read`; inference needs `infer` (authorized by the router's admit stage, the one place all
 * protocols share); everything that changes the server or reveals who did what needs `admin`.
 */
import type { Scope } from '../../core/index.js';
import type { RouteName } from './routes.js';

const BY_ROUTE: Record<RouteName, Scope | 'open' | { GET: Scope; other: Scope }> = {
  live: 'open',
  ready: 'open',
  serverMetadata: 'read',
  modelMetadata: 'read',
  modelReady: 'read',
  modelConfig: 'read',
  stats: 'read',
  infer: 'infer',
  repositoryIndex: 'read',
  load: 'admin',
  unload: 'admin',
  namedRepository: 'admin',
  logging: { GET: 'read', other: 'admin' },
  traceSetting: { GET: 'read', other: 'admin' },
  shmStatus: 'read',
  shmRegister: 'admin',
  shmUnregister: 'admin',
  cudaShmStatus: 'read',
  cudaShmRegister: 'admin',
  cudaShmUnregister: 'admin',
  registryStatus: 'read',
  registryModels: { GET: 'read', other: 'admin' },
  registryModel: 'read',
  registryVersion: { GET: 'read', other: 'admin' },
  registryPromote: 'admin',
  registryAlias: 'admin',
  registryHistory: 'read',
  registryAudit: 'admin',
  registryVerify: 'admin',
  rolloutList: 'read',
  rollout: { GET: 'read', other: 'admin' },
  rolloutPause: 'admin',
  rolloutResume: 'admin',
  rolloutAbort: 'admin',
  rolloutPromote: 'admin',
  rolloutReport: 'read',
  rolloutTraffic: { GET: 'read', other: 'admin' },
  privacyErase: 'admin',
};

export function routeScope(name: RouteName, method: string): Scope | 'open' {
  const s = BY_ROUTE[name];
  return typeof s === 'string' ? s : method === 'GET' ? s.GET : s.other;
}
