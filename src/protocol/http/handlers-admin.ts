/**
 * The control surface over AdminService: repository, statistics, logging and trace endpoints
 * (protocol.md §B.3, §B.4, §B.7; shared memory, §B.8, is handlers-shm.ts).
 * Bodies are small JSON objects; each is parsed with the same depth guard as infer bodies.
 */
import { InferError, invalidArg } from '../../core/index.js';
import type { LoadParams, LogSettings } from '../../router/types.js';
import { isPlainObject, parseJsonObjectBody, stringifyJson } from './json.js';
import { type Handler, type HandlerDeps, type HttpRequestData, jsonResult } from './types.js';

const body = (deps: HandlerDeps, req: HttpRequestData) => parseJsonObjectBody(req.body, deps.limits.maxJsonDepth);

/** POST /v2/repository/index: optional `{"ready": bool}`; answers a bare array. */
export const repositoryIndex: Handler = (deps, _m, req) => {
  const { ready } = body(deps, req);
  if (ready !== undefined && typeof ready !== 'boolean') throw invalidArg("'ready' must be a boolean");
  const rows = deps.admin.repositoryIndex(ready === true).filter((r) => deps.auth.visible(req.principal, r.name));
  return jsonResult(stringifyJson(rows));
};

/** POST /v2/repository/models/{m}/load: optional `config` and `file:<v>/<name>` (base64) parameters. */
export const load: Handler = async (deps, { params }, req) => {
  await deps.admin.loadModel(params.model as string, loadParams(parametersOf(body(deps, req))));
  return { status: 200 };
};

/** POST /v2/repository/models/{m}/unload: optional `unload_dependents` parameter. */
export const unload: Handler = async (deps, { params }, req) => {
  const dependents = parametersOf(body(deps, req)).unload_dependents;
  if (dependents !== undefined && typeof dependents !== 'boolean')
    throw invalidArg("parameter 'unload_dependents' must be a boolean");
  await deps.admin.unloadModel(params.model as string, dependents === true);
  return { status: 200 };
};

/** /v2/repository/{repo}/...: Triton does not support naming the repository. */
export const namedRepository: Handler = () => {
  throw new InferError('IG_ERR_UNSUPPORTED', "'repository_name' specification is not supported");
};

/** GET/POST /v2/logging via the service's log settings. */
export const logging: Handler = (deps, _m, req) => {
  if (req.method === 'GET') return jsonResult(stringifyJson(deps.admin.getLogSettings()));
  const update = body(deps, req);
  for (const [key, v] of Object.entries(update)) {
    if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean')
      throw invalidArg(`log setting '${key.slice(0, 64)}' must be a string, number or boolean`);
  }
  return jsonResult(stringifyJson(deps.admin.updateLogSettings(update as LogSettings)));
};

/** GET/POST /v2[/models/{m}]/trace/setting: the tracing settings. */
export const traceSetting: Handler = (deps, { params }, req) => {
  const settings =
    req.method === 'POST'
      ? deps.admin.updateTraceSettings(body(deps, req), params.model)
      : deps.admin.traceSettings(params.model);
  return jsonResult(stringifyJson(settings));
};

/** GET /v2/models[/{m}[/versions/{v}]]/stats: `{"model_stats": [...]}` with bigint ns as integers. */
export const stats: Handler = (deps, { params }, req) => {
  const all = deps.admin.modelStatistics(params.model, params.version);
  return jsonResult(stringifyJson({ model_stats: all.filter((s) => deps.auth.visible(req.principal, s.name)) }));
};

function parametersOf(doc: Record<string, unknown>): Record<string, unknown> {
  if (doc.parameters === undefined) return {};
  if (!isPlainObject(doc.parameters)) throw invalidArg("'parameters' must be a JSON object");
  return doc.parameters;
}

const BASE64 = /^[A-Za-z0-9+/\r\n]*={0,2}$/;

function loadParams(p: Record<string, unknown>): LoadParams {
  const out: LoadParams = {};
  if (p.config !== undefined) {
    if (typeof p.config !== 'string') throw invalidArg("parameter 'config' must be a string of ModelConfig JSON");
    out.config = p.config;
  }
  for (const [key, v] of Object.entries(p)) {
    if (!key.startsWith('file:')) continue;
    if (typeof v !== 'string' || !BASE64.test(v)) throw invalidArg(`parameter '${key.slice(0, 128)}' must be base64`);
    if (out.config === undefined) throw invalidArg(`parameter '${key.slice(0, 128)}' requires the 'config' parameter`);
    out.files ??= {};
    // Copy out of Buffer's shared pool so the receiver owns (and may transfer) the bytes.
    out.files[key.slice(5)] = new Uint8Array(Buffer.from(v, 'base64'));
  }
  return out;
}
