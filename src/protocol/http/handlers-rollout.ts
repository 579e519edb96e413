/**
 * Rollouts and traffic splits over the admin REST API (docs/rollout-openapi.yaml): list, show and
 * start rollouts, the operator's pause/resume/abort/promote, and a model's manual traffic split.
 * Only in registry control mode (the controller and the splits live there); elsewhere every route
 * answers 501 naming the flag. Bodies are checked here field by field, with messages naming the
 * field, because the service trusts its typed input; the operations themselves are the service's.
 */
import { InferError, invalidArg } from '../../core/index.js';
import {
  type Gates,
  type RolloutAdmin,
  renderReportHtml,
  type StartRequest,
  type TrafficAdmin,
  type TrafficPolicy,
} from '../../rollout/api.js';
import { isPlainObject, parseJsonObjectBody, stringifyJson } from './json.js';
import { type Handler, type HandlerDeps, type HttpRequestData, jsonResult } from './types.js';

type Doc = Record<string, unknown>;

const NO_ROLLOUTS =
  'rollouts and traffic splits need registry control mode: start the server with --model-control-mode registry';

function rolloutsOf(deps: HandlerDeps): RolloutAdmin {
  if (!deps.rollouts) throw new InferError('IG_ERR_UNSUPPORTED', NO_ROLLOUTS);
  return deps.rollouts;
}

function trafficOf(deps: HandlerDeps): TrafficAdmin {
  if (!deps.traffic) throw new InferError('IG_ERR_UNSUPPORTED', NO_ROLLOUTS);
  return deps.traffic;
}

const actorOf = (req: HttpRequestData): string => `admin-api:${req.principal.id}`;
const body = (deps: HandlerDeps, req: HttpRequestData): Doc => parseJsonObjectBody(req.body, deps.limits.maxJsonDepth);
const json = (value: unknown, status = 200) => jsonResult(stringifyJson(value), status);

/** A misspelt field ("interval" for "intervalMs") must not silently fall back to a default. */
function onlyKnown(doc: Doc, known: readonly string[], where = 'the body'): void {
  for (const k of Object.keys(doc))
    if (!known.includes(k))
      throw invalidArg(`unknown field '${k.slice(0, 64)}' in ${where} (known: ${known.join(', ')})`);
}

function num(doc: Doc, key: string, ok: (n: number) => boolean, rule: string, path = key): number | undefined {
  const v = doc[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v) || !ok(v)) throw invalidArg(`'${path}' must be ${rule}`);
  return v;
}

const posInt = (n: number) => Number.isSafeInteger(n) && n >= 1;

function str(doc: Doc, key: string, max = 256, path = key): string | undefined {
  const v = doc[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || v === '' || v.length > max)
    throw invalidArg(`'${path}' must be a non-empty string of at most ${max} characters`);
  return v;
}

function obj(doc: Doc, key: string): Doc | undefined {
  const v = doc[key];
  if (v === undefined) return undefined;
  if (!isPlainObject(v)) throw invalidArg(`'${key}' must be a JSON object`);
  return v;
}

function array(doc: Doc, key: string): unknown[] | undefined {
  const v = doc[key];
  if (v === undefined) return undefined;
  if (!Array.isArray(v)) throw invalidArg(`'${key}' must be an array`);
  return v;
}

/** `{header?, parameter?}`: the request header or parameter whose value keeps a caller on one arm. */
function sticky(doc: Doc): { header?: string; parameter?: string } | undefined {
  const s = obj(doc, 'sticky');
  if (!s) return undefined;
  onlyKnown(s, ['header', 'parameter'], "'sticky'");
  const out = {
    header: str(s, 'header', 128, 'sticky.header'),
    parameter: str(s, 'parameter', 128, 'sticky.parameter'),
  };
  if (out.header === undefined && out.parameter === undefined)
    throw invalidArg("'sticky' names a 'header' or a 'parameter'");
  return Object.fromEntries(Object.entries(out).filter(([, v]) => v !== undefined));
}

/** Gate ranges as the analysis checks them (analysis.ts validateGates), refused before the rollout starts. */
function gates(doc: Doc): Partial<Gates> | undefined {
  const g = obj(doc, 'gates');
  if (!g) return undefined;
  onlyKnown(g, ['minSamples', 'maxErrorRateDelta', 'maxP99Ratio', 'maxDivergence', 'alpha'], "'gates'");
  const fraction = (n: number) => n >= 0 && n < 1;
  const out: Partial<Gates> = {
    minSamples: num(g, 'minSamples', posInt, 'a positive integer', 'gates.minSamples'),
    maxErrorRateDelta:
      g.maxErrorRateDelta === null
        ? undefined
        : num(g, 'maxErrorRateDelta', fraction, 'a fraction in [0, 1) or null (off)', 'gates.maxErrorRateDelta'),
    maxP99Ratio:
      g.maxP99Ratio === null
        ? undefined
        : num(g, 'maxP99Ratio', (n) => n > 0, 'a positive number or null (off)', 'gates.maxP99Ratio'),
    maxDivergence: num(g, 'maxDivergence', fraction, 'a fraction in [0, 1)', 'gates.maxDivergence'),
    alpha: num(g, 'alpha', (n) => n > 0 && n <= 0.5, 'in (0, 0.5]', 'gates.alpha'),
  };
  const given = Object.fromEntries(Object.entries(out).filter(([, v]) => v !== undefined)) as Partial<Gates>;
  // null switches a default gate off (the key stays, undefined: the service reads it as off).
  for (const key of ['maxErrorRateDelta', 'maxP99Ratio'] as const) if (g[key] === null) given[key] = undefined;
  return given;
}

function startRequest(model: string, doc: Doc): StartRequest {
  onlyKnown(doc, ['model', 'to', 'steps', 'intervalMs', 'gates', 'shadowPercent', 'sticky', 'alias', 'maxHolds']);
  if (doc.model !== undefined && doc.model !== model)
    throw invalidArg(`'model' (${String(doc.model).slice(0, 64)}) differs from the model in the path (${model})`);
  const to = num(doc, 'to', posInt, 'a version number');
  if (to === undefined) throw invalidArg("'to' is required: the version to roll out");
  const steps = array(doc, 'steps');
  if (steps && !steps.every((s) => typeof s === 'number' && Number.isFinite(s)))
    throw invalidArg("'steps' must be an array of percents, e.g. [5, 25, 50, 100]");
  return {
    model,
    to,
    steps: steps as number[] | undefined,
    intervalMs: num(doc, 'intervalMs', (n) => n > 0, 'a positive number of milliseconds'),
    gates: gates(doc),
    shadowPercent: num(doc, 'shadowPercent', (n) => n >= 0 && n <= 100, 'a percent in [0, 100]'),
    sticky: sticky(doc),
    alias: str(doc, 'alias', 64),
    maxHolds: num(doc, 'maxHolds', posInt, 'a positive integer'),
  };
}

/** `[{version, <share>}, …]` entries of a traffic policy, each field named in its error. */
function shares(doc: Doc, key: 'arms' | 'shadows', share: 'weight' | 'percent') {
  return array(doc, key)?.map((e, i) => {
    if (!isPlainObject(e)) throw invalidArg(`'${key}[${i}]' must be an object {version, ${share}}`);
    onlyKnown(e, ['version', share], `'${key}[${i}]'`);
    const version = num(e, 'version', posInt, 'a version number', `${key}[${i}].version`);
    const value = num(e, share, () => true, 'a number', `${key}[${i}].${share}`);
    if (version === undefined || value === undefined)
      throw invalidArg(`'${key}[${i}]' needs both 'version' and '${share}'`);
    return { version, value };
  });
}

/** The policy of a PUT body (its `reason` is the audit's); the rules (sum 100…) are checkPolicy's. */
function trafficPolicy(doc: Doc): TrafficPolicy {
  onlyKnown(doc, ['arms', 'shadows', 'sticky', 'reason']);
  const arms = shares(doc, 'arms', 'weight')?.map((a) => ({ version: a.version, weight: a.value }));
  if (!arms) throw invalidArg("'arms' is required: [{version, weight}, …] with weights summing to 100");
  const shadows = shares(doc, 'shadows', 'percent')?.map((s) => ({ version: s.version, percent: s.value }));
  const st = sticky(doc);
  return { arms, ...(shadows ? { shadows } : {}), ...(st ? { sticky: st } : {}) };
}

function reasonOf(deps: HandlerDeps, req: HttpRequestData): string | undefined {
  const doc = body(deps, req);
  onlyKnown(doc, ['reason']);
  return str(doc, 'reason', 1024);
}

/** GET /v2/rollouts: every rollout the caller may see, finished ones included. */
export const rolloutList: Handler = async (deps, _m, req) => {
  const all = await rolloutsOf(deps).list();
  return json({ rollouts: all.filter((r) => deps.auth.visible(req.principal, r.model)) });
};

/** GET /v2/rollouts/{m}: the model's rollout; POST: start one (201). */
export const rollout: Handler = async (deps, { params }, req) => {
  const rollouts = rolloutsOf(deps);
  const model = params.model as string;
  if (req.method === 'GET') {
    const r = await rollouts.get(model);
    if (!r) throw new InferError('IG_ERR_NOT_FOUND', `model '${model}' has no rollout`);
    return json(r);
  }
  return json(await rollouts.start(startRequest(model, body(deps, req)), actorOf(req)), 201);
};

const action =
  (op: 'pause' | 'resume' | 'abort' | 'promote'): Handler =>
  async (deps, { params }, req) => {
    const rollouts = rolloutsOf(deps);
    return json(await rollouts[op](params.model as string, actorOf(req), reasonOf(deps, req)));
  };

/** POST /v2/rollouts/{m}/pause|resume|abort|promote `{reason?}`. */
export const rolloutPause = action('pause');
export const rolloutResume = action('resume');
export const rolloutAbort = action('abort');
export const rolloutPromote = action('promote');

/**
 * GET /v2/rollouts/{m}/report: the shadow diff report (JSON; `?format=html` the self-contained
 * page, with a CSP that forbids anything but its inline style).
 */
export const rolloutReport: Handler = async (deps, { params }, req) => {
  const format = new URLSearchParams(req.url.split('?')[1] ?? '').get('format') ?? 'json';
  if (format !== 'json' && format !== 'html') throw invalidArg("'format' must be 'json' or 'html'");
  const report = await rolloutsOf(deps).report(params.model as string);
  if (format === 'json') return json(report);
  return {
    status: 200,
    body: renderReportHtml(report),
    headers: {
      'content-type': 'text/html; charset=utf-8',
      'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'",
    },
  };
};

/** GET /v2/models/{m}/traffic; PUT a manual split (409 during a rollout); DELETE it (204). */
export const rolloutTraffic: Handler = async (deps, { params }, req) => {
  const traffic = trafficOf(deps);
  const model = params.model as string;
  if (req.method === 'GET') {
    const [t] = await traffic.show(model);
    if (!t) throw new InferError('IG_ERR_NOT_FOUND', `model '${model}' has no traffic split (calls go to its alias)`);
    return json(t);
  }
  if (req.method === 'DELETE') {
    const reason = new URLSearchParams(req.url.split('?')[1] ?? '').get('reason') ?? undefined;
    if (reason !== undefined && reason.length > 1024) throw invalidArg("'reason' must be at most 1024 characters");
    await traffic.clear(model, actorOf(req), reason);
    return { status: 204 };
  }
  const doc = body(deps, req);
  return json(await traffic.set(model, trafficPolicy(doc), actorOf(req), str(doc, 'reason', 1024)));
};
