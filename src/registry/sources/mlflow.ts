/**
 * A version from an MLflow tracking server's model registry, over its REST API only (MLflow 3.x):
 *   mlflow://HOST:PORT/NAME            the newest version
 *   mlflow://HOST:PORT/NAME@ALIAS      the version the alias names
 *   mlflow://HOST:PORT/NAME/VERSION    that version          (`mlflows://` talks https)
 * A name with reserved characters ('@', '#', '%', '?', ' ') is percent-encoded in the URI.
 *
 * The version's `MLmodel` names the ONNX file (the onnx flavor's `data`); without an onnx flavor a
 * single `.onnx` artifact is taken. Bytes come through the server's artifact proxy
 * (`mlflow-artifacts:`), i.e. a server started with served artifacts (its default). External-data
 * files beside the model (onnx writes `<uuid>.data` there) travel with it, keeping their names.
 *
 * The REST calls, their bounds and their error mapping are mlflow-api.ts's.
 *
 * Errors: IG_ERR_INVALID_ARG for a malformed URI or an answer that is not a usable MLflow answer,
 * IG_ERR_NOT_FOUND naming the model, alias or version MLflow lacks, IG_ERR_STORE_UNAVAILABLE naming
 * the host when it cannot be reached or fails (5xx), IG_ERR_FORBIDDEN_SOURCE when it refuses us.
 */
import { posix } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { type InferError, invalidArg } from '../../core/index.js';
import { isModelName, isSafeFilePath, quoteName } from '../names.js';
import type { Lineage } from '../types.js';
import {
  CONTROL,
  findOnnx,
  getRun,
  isPlainSegment,
  join,
  MlflowApi,
  type MlflowOptions,
  type MlflowTarget,
  notFound,
  obj,
  pairs,
  str,
} from './mlflow-api.js';
import type { Fetcher, ResolvedSource, SourceFile } from './types.js';

export type { MlflowOptions, MlflowTarget } from './mlflow-api.js';

const MAX_MLMODEL_BYTES = 1024 * 1024;
const MAX_TAGS = 256;
// MLflow's own limits on names and aliases (and ours on what it may send back).
const MAX_NAME = 256;
const ALIAS = /^[A-Za-z0-9_-]{1,255}$/;
const VERSION = /^[1-9][0-9]{0,9}$/;
const HOST_PORT = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]{0,252}))(?::([0-9]{1,5}))?$/;
/**
 * Beside the ONNX file, what is not external data: the files MLflow writes with every model, and
 * text formats (onnx names external-data files freely, `<uuid>.data` or a tensor's name, never these).
 */
const NOT_EXTERNAL_DATA = /^(MLmodel|registered_model_meta|.*\.(onnx|json|ya?ml|txt|md|py))$/;

export function parseMlflowUri(uri: string): MlflowTarget {
  const bad = (why: string) =>
    invalidArg(`${quoteName(uri)} is not a valid MLflow source (${why}); use mlflow://HOST:PORT/NAME[@ALIAS|/VERSION]`);
  const m = /^(mlflows?):\/\/([^/?#]*)(\/[^?#]*)?$/.exec(uri);
  if (!m) throw bad(uri.includes('?') || uri.includes('#') ? 'no query or fragment allowed' : 'not an mlflow:// URI');
  const scheme = m[1] as 'mlflow' | 'mlflows';
  const authority = m[2] ?? '';
  // Credentials in a URI end up in logs and shell history: the token option carries them.
  if (authority.includes('@')) throw bad('credentials do not belong in the URI; pass a token');
  const hp = HOST_PORT.exec(authority);
  if (!hp) throw bad('no host');
  if (hp[2] !== undefined && (Number(hp[2]) < 1 || Number(hp[2]) > 65535)) throw bad('port out of range');
  const base = new URL(`${scheme === 'mlflows' ? 'https' : 'http'}://${authority}`).origin;
  const segments = (m[3] ?? '').split('/').slice(1);
  if (segments.length > 2) throw bad('more than NAME/VERSION in the path');
  if (!segments[0]) throw bad('no model name');
  const [rawName, rawAlias] = splitOnce(segments[0], '@');
  const name = decode(rawName, bad);
  if (name.length === 0 || name.length > MAX_NAME || CONTROL.test(name))
    throw bad('model name is empty, too long or has control characters');
  const target: MlflowTarget = { base, host: new URL(base).host, scheme, name };
  if (rawAlias !== undefined) {
    if (segments.length > 1) throw bad('both an alias and a version');
    const alias = decode(rawAlias, bad);
    if (!ALIAS.test(alias)) throw bad(`alias ${quoteName(alias)} is not letters, digits, '_' or '-'`);
    target.alias = alias;
  }
  if (segments.length === 2) {
    const v = segments[1] ?? '';
    if (!VERSION.test(v)) throw bad(`version ${quoteName(v)} is not a positive integer`);
    target.version = Number(v);
  }
  return target;
}

function splitOnce(s: string, sep: string): [string, string | undefined] {
  const i = s.indexOf(sep);
  return i < 0 ? [s, undefined] : [s.slice(0, i), s.slice(i + 1)];
}

function decode(s: string, bad: (why: string) => InferError): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw bad('malformed percent-encoding');
  }
}

/** The canonical URI of one version: what the registry records as its source. */
export function mlflowVersionUri(t: MlflowTarget, version: number | string): string {
  return `${t.scheme}://${t.host}/${encodeURIComponent(t.name)}/${version}`;
}

export async function resolveMlflow(uri: string, fetch: Fetcher, opts: MlflowOptions = {}): Promise<ResolvedSource> {
  const t = parseMlflowUri(uri);
  const api = new MlflowApi(fetch, t, opts);
  const q = quoteName(t.name);
  const modelMissing = () => notFound(`MLflow at ${t.host} has no registered model ${q}`);
  // The model first, so that a missing alias or version is not mistaken for a missing model.
  const model = obj(await api.json('/api/2.0/mlflow/registered-models/get', { name: t.name }, modelMissing));
  if (!model.registered_model) throw api.garbled('registered-models/get', 'a registered model');
  let mv: Record<string, unknown>;
  if (t.alias !== undefined) {
    const alias = t.alias;
    // MLflow answers 400 INVALID_PARAMETER_VALUE (not 404) for an unknown alias of a known model.
    const missing = () => notFound(`MLflow model ${q} at ${t.host} has no alias '${alias}'`);
    const got = await api.json('/api/2.0/mlflow/registered-models/alias', { name: t.name, alias }, missing, [400]);
    mv = obj(obj(got).model_version);
  } else {
    const v = String(t.version ?? latestVersion(obj(model.registered_model).latest_versions, t));
    const got = await api.json('/api/2.0/mlflow/model-versions/get', { name: t.name, version: v }, () =>
      versionMissing(t, v),
    );
    mv = obj(obj(got).model_version);
  }
  const version = str(mv.version);
  if (!VERSION.test(version)) throw api.garbled('model-versions/get', 'a version number');
  if (mv.status !== undefined && mv.status !== 'READY')
    throw invalidArg(`MLflow model ${q} version ${version} is not ready (status ${quoteName(str(mv.status))})`);
  const download = obj(
    await api.json('/api/2.0/mlflow/model-versions/get-download-uri', { name: t.name, version }, () =>
      versionMissing(t, version),
    ),
  );
  const root = artifactRoot(str(download.artifact_uri), t, version);
  const runId = str(mv.run_id) || undefined;
  const run = runId ? await getRun(api, runId) : undefined;
  const files = await onnxFiles(api, root, `${q} version ${version}`);
  const lineage: Lineage = {
    mlflow: {
      trackingUri: t.base,
      name: t.name,
      version,
      runId,
      params: run?.params,
      metrics: run?.metrics,
      source: str(mv.source) || undefined,
    },
  };
  return {
    uri: mlflowVersionUri(t, version),
    format: 'onnx',
    files,
    lineage,
    tags: pairs(mv.tags, MAX_TAGS, (v) => (typeof v === 'string' ? v : undefined)),
    suggestedName: isModelName(t.name) ? t.name : undefined,
  };
}

function versionMissing(t: MlflowTarget, version: number | string): InferError {
  return notFound(`MLflow model ${quoteName(t.name)} at ${t.host} has no version ${version}`);
}

/** The highest of `latest_versions` (one per legacy stage, so their maximum is the newest). */
function latestVersion(latest: unknown, t: MlflowTarget): number {
  const numbers = (Array.isArray(latest) ? latest : []).map((v) => str(obj(v).version)).filter((v) => VERSION.test(v));
  if (numbers.length === 0) throw notFound(`MLflow model ${quoteName(t.name)} at ${t.host} has no versions`);
  return Math.max(...numbers.map(Number));
}

/** `mlflow-artifacts:/1/models/m-…/artifacts` → `1/models/m-…/artifacts` (served by this same server). */
function artifactRoot(uri: string, t: MlflowTarget, version: string): string {
  const m = /^mlflow-artifacts:(?:\/\/[^/]*)?\/(.*?)\/*$/.exec(uri);
  if (!m)
    throw invalidArg(
      `MLflow at ${t.host} keeps ${quoteName(t.name)} version ${version} at ${quoteName(uri.split(':')[0] ?? '')}: storage it does not serve; only servers with served artifacts (mlflow-artifacts:) can be imported from`,
    );
  const path = m[1] ?? '';
  if (path !== '' && !path.split('/').every(isPlainSegment))
    throw invalidArg(`MLflow artifact location ${quoteName(uri)} is not a plain path`);
  return path;
}

/** The ONNX file (as model.onnx) and its external-data siblings (keeping their names, as onnx refers to them). */
async function onnxFiles(api: MlflowApi, root: string, what: string): Promise<SourceFile[]> {
  const top = await api.list(root);
  let data: string | undefined;
  const mlmodel = top.find((f) => f.name === 'MLmodel' && !f.dir);
  if (mlmodel) data = onnxFlavorData(await api.artifactText(join(root, 'MLmodel'), MAX_MLMODEL_BYTES), what);
  if (data === undefined) {
    const found = await findOnnx(api, root, top);
    if (found.length !== 1)
      throw invalidArg(
        found.length === 0
          ? `MLflow ${what} has no ONNX model (no onnx flavor in MLmodel and no .onnx artifact)`
          : `MLflow ${what} has no onnx flavor and ${found.length} .onnx artifacts; register one model per version`,
      );
    data = found[0] as string;
  }
  const dir = posix.dirname(data) === '.' ? '' : posix.dirname(data);
  const listing = dir === '' ? top : await api.list(join(root, dir));
  const model = listing.find((f) => f.name === posix.basename(data) && !f.dir);
  if (!model) throw notFound(`MLflow ${what} names ${quoteName(data)} but has no such artifact`);
  const files = [api.file(join(root, data), 'model.onnx', model.size)];
  for (const f of listing) {
    if (f === model || f.dir || NOT_EXTERNAL_DATA.test(f.name)) continue;
    if (!isSafeFilePath(f.name))
      throw invalidArg(`MLflow ${what}: artifact ${quoteName(f.name)} beside the model is not a plain file name`);
    files.push(api.file(join(root, dir, f.name), f.name, f.size));
  }
  return files;
}

/** The onnx flavor's `data` path, or undefined when MLmodel has no onnx flavor. */
function onnxFlavorData(text: string, what: string): string | undefined {
  let doc: unknown;
  try {
    doc = parseYaml(text, { maxAliasCount: 50, uniqueKeys: false });
  } catch {
    throw invalidArg(`MLflow ${what}: its MLmodel file is not valid YAML`);
  }
  const onnx = obj(obj(obj(doc).flavors).onnx);
  if (Object.keys(onnx).length === 0) return undefined;
  const data = typeof onnx.data === 'string' ? onnx.data.replace(/^\.\//, '') : '';
  if (!data?.split('/').every(isPlainSegment))
    throw invalidArg(`MLflow ${what}: the onnx flavor's data ${quoteName(data)} is not a relative file path`);
  return data;
}
