/**
 * The registry's admin REST API (docs/registry-openapi.yaml), over RegistryAdmin: models,
 * versions (by number or alias), pushes from a source URI, alias moves with compare-and-set and
 * the validation gate, pins, history, audit and verify. Bodies are small JSON objects; every
 * field is checked here with a message naming it, the operations themselves are the service's.
 */
import { InferError, invalidArg } from '../../core/index.js';
import type { RegistryAdmin } from '../../registry/api.js';
import { isPlainObject, parseJsonObjectBody } from './json.js';
import { type Handler, type HandlerDeps, type HttpRequestData, jsonResult } from './types.js';

type Doc = Record<string, unknown>;

function registryOf(deps: HandlerDeps): RegistryAdmin {
  if (!deps.registry)
    throw new InferError(
      'IG_ERR_UNSUPPORTED',
      'the model registry is not enabled: start the server with --registry DIR|postgres://… or --model-control-mode registry',
    );
  return deps.registry;
}

/** Who the audit log records: the authenticated principal (`key:…`, `jwt:…`, `local` without auth). */
function actorOf(req: HttpRequestData): string {
  return `admin-api:${req.principal.id}`;
}

const body = (deps: HandlerDeps, req: HttpRequestData): Doc => parseJsonObjectBody(req.body, deps.limits.maxJsonDepth);
const json = (value: unknown, status = 200) => jsonResult(JSON.stringify(value), status);

function optString(doc: Doc, key: string): string | undefined {
  const v = doc[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw invalidArg(`'${key}' must be a string`);
  return v;
}

function optBool(doc: Doc, key: string): boolean | undefined {
  const v = doc[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'boolean') throw invalidArg(`'${key}' must be true or false`);
  return v;
}

function optInt(doc: Doc, key: string): number | undefined {
  const v = doc[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1)
    throw invalidArg(`'${key}' must be a positive integer`);
  return v;
}

/** `expected`: a version number, or null for "the alias must not exist yet". */
function optExpected(doc: Doc): number | null | undefined {
  return doc.expected === null ? null : optInt(doc, 'expected');
}

function optMap<T extends 'string' | 'number'>(doc: Doc, key: string, kind: T, nullable = false) {
  const v = doc[key];
  if (v === undefined) return undefined;
  if (!isPlainObject(v)) throw invalidArg(`'${key}' must be a JSON object`);
  for (const [k, x] of Object.entries(v)) {
    const ok = typeof x === kind && (kind !== 'number' || Number.isFinite(x as number));
    if (!ok && !(nullable && x === null))
      throw invalidArg(`'${key}.${k.slice(0, 64)}' must be a ${kind}${nullable ? ' or null' : ''}`);
  }
  return v as Record<string, T extends 'string' ? string : number>;
}

function query(req: HttpRequestData): URLSearchParams {
  const q = req.url.indexOf('?');
  return new URLSearchParams(q === -1 ? '' : req.url.slice(q + 1));
}

/** GET /v2/registry: where the store is, and what serving resolved from it. */
export const registryStatus: Handler = (deps) => {
  const registry = registryOf(deps);
  return json({ location: registry.location, serving: deps.registryServing?.() ?? null });
};

/** GET /v2/registry/models: every model; POST: push a version from `source`. */
export const registryModels: Handler = async (deps, _m, req) => {
  const registry = registryOf(deps);
  if (req.method === 'GET') {
    const models = await registry.listModels();
    return json({ models: models.filter((m) => deps.auth.visible(req.principal, m.name)) });
  }
  const doc = body(deps, req);
  const source = optString(doc, 'source');
  const target = optString(doc, 'model');
  const scoped = req.principal.tenant !== undefined || req.principal.models !== undefined;
  if (target === undefined && scoped) throw invalidArg("'model' is required: name the model to register under");
  if (target !== undefined) deps.auth.authorize(req.principal, 'admin', target);
  if (!source) throw invalidArg("'source' is required: an https:// URL or mlflow://HOST:PORT/NAME[@alias|/version]");
  const lineage = doc.lineage;
  if (lineage !== undefined && !isPlainObject(lineage)) throw invalidArg("'lineage' must be a JSON object");
  const record = await registry.push(
    source,
    {
      model: target,
      version: optInt(doc, 'version'),
      tags: optMap(doc, 'tags', 'string'),
      metrics: optMap(doc, 'metrics', 'number'),
      lineage: lineage as Doc | undefined,
    },
    actorOf(req),
  );
  return json(record, 201);
};

/** GET /v2/registry/models/{m}: the model, its versions and aliases. */
export const registryModel: Handler = async (deps, { params }) =>
  json(await registryOf(deps).showModel(params.model as string));

/** GET /v2/registry/models/{m}/versions/{v|alias}; PATCH: tags, metrics (null deletes a key), pinned. */
export const registryVersion: Handler = async (deps, { params }, req) => {
  const registry = registryOf(deps);
  const model = params.model as string;
  const ref = params.version as string;
  if (req.method === 'GET') return json(await registry.showVersion(model, ref));
  const doc = body(deps, req);
  const patch = {
    tags: optMap(doc, 'tags', 'string', true),
    metrics: optMap(doc, 'metrics', 'number', true),
    pinned: optBool(doc, 'pinned'),
  };
  return json(await registry.updateVersion(model, ref, patch, actorOf(req)));
};

/** POST /v2/registry/models/{m}/versions/{v|alias}/promote: moves `to` (default production) through the gate. */
export const registryPromote: Handler = async (deps, { params }, req) => {
  const doc = body(deps, req);
  const record = await registryOf(deps).promote(
    params.model as string,
    params.version as string,
    {
      to: optString(doc, 'to'),
      expected: optExpected(doc),
      force: optBool(doc, 'force'),
      reason: optString(doc, 'reason'),
    },
    actorOf(req),
  );
  return json(record);
};

/** PUT /v2/registry/models/{m}/aliases/{a}: set by compare-and-set; DELETE: remove (`?expected=N`). */
export const registryAlias: Handler = async (deps, { params }, req) => {
  const registry = registryOf(deps);
  const model = params.model as string;
  const alias = params.alias as string;
  if (req.method === 'DELETE') {
    const e = query(req).get('expected');
    const expected = e === null ? undefined : Number(e);
    if (expected !== undefined && (!Number.isSafeInteger(expected) || expected < 1))
      throw invalidArg("'expected' must be a positive integer");
    await registry.deleteAlias(model, alias, expected, actorOf(req), query(req).get('reason') ?? undefined);
    return { status: 204 };
  }
  const doc = body(deps, req);
  const version = doc.version;
  if (typeof version !== 'number' && typeof version !== 'string')
    throw invalidArg("'version' is required: a version number or another alias");
  const record = await registry.setAlias(
    {
      model,
      alias,
      version,
      expected: optExpected(doc),
      force: optBool(doc, 'force'),
      reason: optString(doc, 'reason'),
      protected: optBool(doc, 'protected'),
    },
    actorOf(req),
  );
  return json(record);
};

/** GET /v2/registry/models/{m}/history: every alias move of the model, oldest first. */
export const registryHistory: Handler = async (deps, { params }) =>
  json({ history: await registryOf(deps).history(params.model as string) });

/** GET /v2/registry/audit?model=&after=&limit=: the audit log. */
export const registryAudit: Handler = async (deps, _m, req) => {
  const q = query(req);
  const int = (key: string) => {
    const raw = q.get(key);
    if (raw === null) return undefined;
    const n = Number(raw);
    if (!Number.isSafeInteger(n) || n < 0) throw invalidArg(`'${key}' must be a non-negative integer`);
    return n;
  };
  const model = q.get('model') ?? undefined;
  if (model !== undefined) deps.auth.authorize(req.principal, 'admin', model);
  const entries = await registryOf(deps).audit({
    model,
    after: int('after'),
    limit: int('limit'),
  });
  return json({ audit: entries.filter((e) => deps.auth.visible(req.principal, e.model)) });
};

/** POST /v2/registry/verify: re-checks the audit log's hash chain. */
export const registryVerify: Handler = async (deps) => json(await registryOf(deps).verify());
