/**
 * The KServe v2 / Triton route table (protocol.md §A.1, §B.3, §B.7, §B.8) and a small matcher.
 * We route ourselves (one catch-all fastify route) so that 404 vs 405, digit-only versions and
 * path decoding follow Triton exactly rather than the framework's defaults.
 */
import { invalidArg } from '../../core/index.js';
import { methodNotAllowed, routeNotFound } from './errors.js';

/** Every endpoint the server answers; several paths may share one name (e.g. stats). */
export type RouteName =
  | 'serverMetadata'
  | 'live'
  | 'ready'
  | 'modelReady'
  | 'modelMetadata'
  | 'infer'
  | 'modelConfig'
  | 'stats'
  | 'repositoryIndex'
  | 'load'
  | 'unload'
  | 'namedRepository'
  | 'traceSetting'
  | 'logging'
  | 'shmStatus'
  | 'shmRegister'
  | 'shmUnregister'
  | 'cudaShmStatus'
  | 'cudaShmRegister'
  | 'cudaShmUnregister'
  | 'registryStatus'
  | 'registryModels'
  | 'registryModel'
  | 'registryVersion'
  | 'registryPromote'
  | 'registryAlias'
  | 'registryHistory'
  | 'registryAudit'
  | 'registryVerify'
  | 'rolloutList'
  | 'rollout'
  | 'rolloutPause'
  | 'rolloutResume'
  | 'rolloutAbort'
  | 'rolloutPromote'
  | 'rolloutReport'
  | 'rolloutTraffic'
  | 'privacyErase';

/** A matched route: its name and decoded path parameters. */
export interface RouteMatch {
  name: RouteName;
  params: { model?: string; version?: string; region?: string; repo?: string; alias?: string };
}

interface Route {
  name: RouteName;
  methods: readonly string[];
  segments: string[];
}

const GET = ['GET'];
const POST = ['POST'];
const BOTH = ['GET', 'POST'];
const GET_PATCH = ['GET', 'PATCH'];
const PUT_DELETE = ['PUT', 'DELETE'];
const GET_PUT_DELETE = ['GET', 'PUT', 'DELETE'];

// `[/versions/:version]` expands into both forms. Order matters: /v2/models/stats (all
// statistics) must win over metadata of a model called "stats", as in Triton.
const TABLE: Array<[RouteName, readonly string[], string]> = [
  ['serverMetadata', GET, '/v2'],
  ['live', GET, '/v2/health/live'],
  ['ready', GET, '/v2/health/ready'],
  ['stats', GET, '/v2/models/stats'],
  ['modelMetadata', GET, '/v2/models/:model[/versions/:version]'],
  ['modelReady', GET, '/v2/models/:model[/versions/:version]/ready'],
  ['infer', POST, '/v2/models/:model[/versions/:version]/infer'],
  ['modelConfig', GET, '/v2/models/:model[/versions/:version]/config'],
  ['stats', GET, '/v2/models/:model[/versions/:version]/stats'],
  ['traceSetting', BOTH, '/v2/trace/setting'],
  ['traceSetting', BOTH, '/v2/models/:model/trace/setting'],
  ['logging', BOTH, '/v2/logging'],
  ['repositoryIndex', POST, '/v2/repository/index'],
  ['load', POST, '/v2/repository/models/:model/load'],
  ['unload', POST, '/v2/repository/models/:model/unload'],
  ['namedRepository', POST, '/v2/repository/:repo/index'],
  ['namedRepository', POST, '/v2/repository/:repo/models/:model/load'],
  ['namedRepository', POST, '/v2/repository/:repo/models/:model/unload'],
  // infergate's model registry (docs/registry-openapi.yaml); versions may be aliases here too.
  ['registryStatus', GET, '/v2/registry'],
  ['registryModels', BOTH, '/v2/registry/models'],
  ['registryModel', GET, '/v2/registry/models/:model'],
  ['registryVersion', GET_PATCH, '/v2/registry/models/:model/versions/:version'],
  ['registryPromote', POST, '/v2/registry/models/:model/versions/:version/promote'],
  ['registryAlias', PUT_DELETE, '/v2/registry/models/:model/aliases/:alias'],
  ['registryHistory', GET, '/v2/registry/models/:model/history'],
  ['registryAudit', GET, '/v2/registry/audit'],
  ['registryVerify', POST, '/v2/registry/verify'],
  // Rollouts and traffic splits (docs/rollout-openapi.yaml), registry control mode.
  ['rolloutList', GET, '/v2/rollouts'],
  ['rollout', BOTH, '/v2/rollouts/:model'],
  ['rolloutPause', POST, '/v2/rollouts/:model/pause'],
  ['rolloutResume', POST, '/v2/rollouts/:model/resume'],
  ['rolloutAbort', POST, '/v2/rollouts/:model/abort'],
  ['rolloutPromote', POST, '/v2/rollouts/:model/promote'],
  ['rolloutReport', GET, '/v2/rollouts/:model/report'],
  ['rolloutTraffic', GET_PUT_DELETE, '/v2/models/:model/traffic'],
  // Right to erasure: every payload-log record of a data subject (privacy/).
  ['privacyErase', POST, '/v2/privacy/erase'],
  // System shared memory is served; CUDA shared memory is declined (common/shared-memory.ts).
  ['shmStatus', GET, '/v2/systemsharedmemory[/region/:region]/status'],
  ['shmRegister', POST, '/v2/systemsharedmemory[/region/:region]/register'],
  ['shmUnregister', POST, '/v2/systemsharedmemory[/region/:region]/unregister'],
  ['cudaShmStatus', GET, '/v2/cudasharedmemory[/region/:region]/status'],
  ['cudaShmRegister', POST, '/v2/cudasharedmemory[/region/:region]/register'],
  ['cudaShmUnregister', POST, '/v2/cudasharedmemory[/region/:region]/unregister'],
];

/** The route table as written (name, methods, pattern): for the OpenAPI documents' consistency test. */
export const ROUTE_PATTERNS: ReadonlyArray<readonly [RouteName, readonly string[], string]> = TABLE;

/** Expands one optional `[...]` group into the two concrete patterns. */
function expand(pattern: string): string[] {
  const m = /^(.*)\[(.*)\](.*)$/.exec(pattern);
  return m ? [`${m[1]}${m[3]}`, `${m[1]}${m[2]}${m[3]}`] : [pattern];
}

const ROUTES: Route[] = TABLE.flatMap(([name, methods, pattern]) =>
  expand(pattern).map((p) => ({ name, methods, segments: p.split('/').slice(1) })),
);

/**
 * Matches a method and raw URL (query ignored); throws 404/405 InferErrors like Triton. With
 * `aliases` (registry control mode) a version segment may also be an alias name; without, only
 * digits match, as in Triton.
 */
export function matchRoute(method: string, url: string, aliases = false): RouteMatch {
  const q = url.indexOf('?');
  const path = q === -1 ? url : url.slice(0, q);
  const parts = path.split('/').slice(1);
  let wrongMethod = false;
  for (const route of ROUTES) {
    const params = matchSegments(route.segments, parts, aliases ? VERSION_OR_ALIAS : DIGITS);
    if (params === undefined) continue;
    if (route.methods.includes(method)) return { name: route.name, params };
    wrongMethod = true;
  }
  throw wrongMethod ? methodNotAllowed() : routeNotFound();
}

const DIGITS = /^[0-9]+$/;
const VERSION_OR_ALIAS = /^(?:[0-9]+|[A-Za-z][A-Za-z0-9_-]{0,63})$/;

function matchSegments(pattern: string[], parts: string[], version: RegExp): RouteMatch['params'] | undefined {
  if (pattern.length !== parts.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i] as string;
    const part = parts[i] as string;
    if (p.startsWith(':')) {
      // Triton's router: names are any non-empty segment, versions are [0-9]+ (or, with
      // registry aliases, an alias name: letters first; the router translates it).
      if (part === '' || (p === ':version' && !version.test(part))) return undefined;
      params[p.slice(1)] = decodeSegment(part);
    } else if (p !== part) return undefined;
  }
  return params;
}

function decodeSegment(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw invalidArg('malformed percent-encoding in the request path');
  }
}
