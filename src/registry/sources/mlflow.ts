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
 * Every request goes through the injected Fetcher (the composition root's SSRF policy) and is
 * bounded: a deadline per call, at most 4 MiB of JSON per answer, a bounded artifact walk, and
 * downloads that stop at their declared size and when the server falls silent, so a hostile server
 * can neither hang an import nor make it allocate without limit.
 *
 * Errors: IG_ERR_INVALID_ARG for a malformed URI or an answer that is not a usable MLflow answer,
 * IG_ERR_NOT_FOUND naming the model, alias or version MLflow lacks, IG_ERR_STORE_UNAVAILABLE naming
 * the host when it cannot be reached or fails (5xx), IG_ERR_FORBIDDEN_SOURCE when it refuses us.
 */
import { posix } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { InferError, invalidArg } from '../../core/index.js';
import { isModelName, isSafeFilePath, quoteName } from '../names.js';
import type { Lineage } from '../types.js';
import type { Fetcher, ResolvedSource, SourceFile } from './types.js';

export interface MlflowOptions {
  /** Sent as `Authorization: Bearer …` (MLflow behind an auth proxy, Databricks tokens). */
  token?: string;
  /** Deadline of each API call, and the longest silence in a download (default 30 s). */
  timeoutMs?: number;
}

/** A parsed `mlflow://` URI. `base` is the tracking server's URL, safe to record. */
export interface MlflowTarget {
  base: string;
  /** `host:port` as the errors name it. */
  host: string;
  scheme: 'mlflow' | 'mlflows';
  name: string;
  alias?: string;
  version?: number;
}

const ARTIFACTS = '/api/2.0/mlflow-artifacts/artifacts';
const MAX_JSON_BYTES = 4 * 1024 * 1024;
const MAX_MLMODEL_BYTES = 1024 * 1024;
const MAX_ENTRIES = 10_000;
const MAX_DEPTH = 8;
const MAX_LISTINGS = 256;
const MAX_TAGS = 256;
const DEFAULT_TIMEOUT_MS = 30_000;
// MLflow's own limits on names and aliases (and ours on what it may send back).
const MAX_NAME = 256;
const ALIAS = /^[A-Za-z0-9_-]{1,255}$/;
const VERSION = /^[1-9][0-9]{0,9}$/;
const HOST_PORT = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]{0,252}))(?::([0-9]{1,5}))?$/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
const CONTROL = /[\u0000-\u001f\u007f]/;
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

async function getRun(
  api: MlflowApi,
  runId: string,
): Promise<{ params: Record<string, string>; metrics: Record<string, number> } | undefined> {
  // A deleted run leaves the version importable; the lineage then just lacks params and metrics.
  const got = await api.json('/api/2.0/mlflow/runs/get', { run_id: runId }, () => undefined);
  if (got === undefined) return undefined;
  const data = obj(obj(obj(got).run).data);
  return {
    params: pairs(data.params, MAX_ENTRIES, (v) => (typeof v === 'string' ? v : undefined)),
    metrics: pairs(data.metrics, MAX_ENTRIES, (v) => {
      const n = typeof v === 'number' ? v : typeof v === 'string' ? Number(v) : Number.NaN;
      return Number.isFinite(n) ? n : undefined;
    }),
  };
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

function isPlainSegment(s: string): boolean {
  return s.length > 0 && s !== '.' && s !== '..' && !CONTROL.test(s) && !s.includes('\\');
}

interface Listed {
  name: string;
  dir: boolean;
  size?: number;
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

function join(...parts: string[]): string {
  return parts.filter((p) => p !== '').join('/');
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

/** Every `.onnx` file under `root`, breadth first, within the depth, listing and entry bounds. */
async function findOnnx(api: MlflowApi, root: string, top: Listed[]): Promise<string[]> {
  const found: string[] = [];
  let queue: Array<{ rel: string; entries: Listed[] | undefined }> = [{ rel: '', entries: top }];
  let listings = 1;
  let entries = top.length;
  for (let depth = 0; queue.length > 0; depth++) {
    if (depth >= MAX_DEPTH) throw invalidArg(`MLflow artifact tree is deeper than ${MAX_DEPTH} directories`);
    const next: typeof queue = [];
    for (const d of queue) {
      let list = d.entries;
      if (!list) {
        if (++listings > MAX_LISTINGS)
          throw invalidArg(`MLflow artifact tree has more than ${MAX_LISTINGS} directories`);
        list = await api.list(join(root, d.rel));
        entries += list.length;
        if (entries > MAX_ENTRIES) throw invalidArg(`MLflow artifact tree has more than ${MAX_ENTRIES} entries`);
      }
      for (const f of list) {
        const rel = join(d.rel, f.name);
        if (f.dir) next.push({ rel, entries: undefined });
        else if (f.name.endsWith('.onnx')) found.push(rel);
      }
    }
    queue = next;
  }
  return found;
}

/** `[{key, value}]` → a record, keeping at most `max` keys whose value `pick` accepts. */
function pairs<T>(list: unknown, max: number, pick: (v: unknown) => T | undefined): Record<string, T> {
  const out: Record<string, T> = {};
  let n = 0;
  for (const p of Array.isArray(list) ? list : []) {
    const { key, value } = obj(p);
    const v = pick(value);
    if (typeof key !== 'string' || key.length === 0 || key.length > 256 || v === undefined) continue;
    if (key === '__proto__' || ++n > max) continue;
    out[key] = v;
  }
  return out;
}

function obj(v: unknown): Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : typeof v === 'number' ? String(v) : '';
}

/** The HTTP side: one tracking server, every call bounded in time and size. */
class MlflowApi {
  private readonly headers: Record<string, string> = { accept: 'application/json' };
  private readonly timeoutMs: number;

  constructor(
    private readonly fetch: Fetcher,
    private readonly t: MlflowTarget,
    opts: MlflowOptions,
  ) {
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    if (opts.token) this.headers.authorization = `Bearer ${opts.token}`;
  }

  /**
   * GETs a JSON endpoint. A 404 (or MLflow's RESOURCE_DOES_NOT_EXIST, or a status in
   * `alsoMissing`) is `missing()`'s answer: its error is thrown, undefined is returned.
   */
  async json(
    path: string,
    query: Record<string, string>,
    missing: () => InferError | undefined,
    alsoMissing: number[] = [],
  ) {
    const what = path.replace(/^\/api\/2\.0\/(mlflow\/)?/, '');
    const res = await this.get(`${path}?${new URLSearchParams(query)}`, what);
    let body: unknown;
    try {
      body = JSON.parse(await this.text(res, MAX_JSON_BYTES, what));
    } catch (err) {
      if (err instanceof InferError) throw err;
    }
    if (res.ok) {
      if (body === null || typeof body !== 'object') throw this.garbled(what, 'JSON');
      return body;
    }
    const code = str(obj(body).error_code);
    if (res.status === 404 || code === 'RESOURCE_DOES_NOT_EXIST' || alsoMissing.includes(res.status)) {
      const err = missing();
      if (err) throw err;
      return undefined;
    }
    throw this.refused(res.status, what, code);
  }

  /** One directory of the artifact proxy; a path MLflow does not have lists as empty. */
  async list(path: string): Promise<Listed[]> {
    const files = obj(await this.json(ARTIFACTS, { path }, () => undefined)).files;
    if (!Array.isArray(files)) return [];
    if (files.length > MAX_ENTRIES) throw invalidArg(`MLflow lists more than ${MAX_ENTRIES} artifacts in a directory`);
    return files.map((f) => {
      const o = obj(f);
      const name = str(o.path);
      // The proxy answers base names; anything else would let the server steer our paths.
      if (!isPlainSegment(name) || name.includes('/')) throw invalidArg(`MLflow lists an artifact ${quoteName(name)}`);
      const size = Number(str(o.file_size) || Number.NaN);
      return { name, dir: o.is_dir === true, size: Number.isSafeInteger(size) && size >= 0 ? size : undefined };
    });
  }

  /** A small artifact (MLmodel) as text. */
  async artifactText(path: string, max: number): Promise<string> {
    const res = await this.get(artifactPath(path), path);
    if (!res.ok) throw this.refused(res.status, `artifact ${path}`, '');
    return this.text(res, max, path);
  }

  file(path: string, as: string, size: number | undefined): SourceFile {
    return { path: as, size, open: () => this.download(path, size) };
  }

  /** The body as a stream that fails once it outgrows `size` or is silent for `timeoutMs`. */
  private async download(path: string, size: number | undefined): Promise<AsyncIterable<Uint8Array>> {
    const idle = new AbortController();
    const ms = this.timeoutMs;
    let timer = setTimeout(() => idle.abort(), ms);
    const res = await this.get(artifactPath(path), path, idle.signal).catch((err) => {
      clearTimeout(timer);
      throw err;
    });
    if (!res.ok) {
      clearTimeout(timer);
      await res.body?.cancel().catch(() => undefined);
      if (res.status === 404) throw notFound(`MLflow at ${this.t.host} has no artifact ${quoteName(path)}`);
      throw this.refused(res.status, `artifact ${path}`, '');
    }
    const host = this.t.host;
    const tooMuch = () =>
      new InferError(
        'IG_ERR_CHECKSUM',
        `MLflow at ${host} sent more than the ${size} bytes it listed for ${quoteName(path)}; nothing was registered`,
      );
    const broken = (cause: unknown) =>
      new InferError('IG_ERR_STORE_UNAVAILABLE', `MLflow at ${host} stopped sending ${quoteName(path)}`, { cause });
    return (async function* () {
      try {
        for await (const chunk of bounded(res, size ?? Number.POSITIVE_INFINITY, tooMuch, broken)) {
          clearTimeout(timer);
          timer = setTimeout(() => idle.abort(), ms);
          yield chunk;
        }
      } finally {
        clearTimeout(timer);
      }
    })();
  }

  private async get(pathAndQuery: string, what: string, signal?: AbortSignal): Promise<Response> {
    try {
      return await this.fetch(`${this.t.base}${pathAndQuery}`, {
        method: 'GET',
        headers: this.headers,
        signal: signal ?? AbortSignal.timeout(this.timeoutMs),
      });
    } catch (err) {
      throw this.unreachable(err, what);
    }
  }

  /** At most `max` bytes of a body as text (the request's deadline still applies). */
  private async text(res: Response, max: number, what: string): Promise<string> {
    const tooLarge = () => invalidArg(`MLflow server at ${this.t.host} answered ${what} with over ${max} bytes`);
    if (Number(res.headers.get('content-length')) > max) {
      await res.body?.cancel().catch(() => undefined);
      throw tooLarge();
    }
    const chunks: Uint8Array[] = [];
    for await (const c of bounded(res, max, tooLarge, (err) => this.unreachable(err, what))) chunks.push(c);
    return Buffer.concat(chunks).toString('utf8');
  }

  private unreachable(err: unknown, what: string): InferError {
    if (err instanceof InferError) return err; // the fetch policy's own refusal says it best
    const name = (err as { name?: string })?.name;
    const code = String((err as { cause?: { code?: unknown } })?.cause?.code ?? '');
    const why =
      name === 'TimeoutError' || name === 'AbortError'
        ? `did not answer ${what} within ${Math.round(this.timeoutMs / 1000)} s`
        : `cannot be reached${/^[A-Z_]{3,32}$/.test(code) ? ` (${code})` : ''}`;
    return new InferError('IG_ERR_STORE_UNAVAILABLE', `MLflow server at ${this.t.host} ${why}`, { cause: err });
  }

  private refused(status: number, what: string, errorCode: string): InferError {
    const says = `MLflow server at ${this.t.host}`;
    const detail = `HTTP ${status}${/^[A-Z_]{1,64}$/.test(errorCode) ? ` ${errorCode}` : ''}`;
    if (status === 401 || status === 403)
      return new InferError('IG_ERR_FORBIDDEN_SOURCE', `${says} refused ${what} (${detail}); give it a token`);
    if (status >= 500 || status === 429)
      return new InferError('IG_ERR_STORE_UNAVAILABLE', `${says} failed ${what} (${detail})`);
    return invalidArg(`${says} rejected ${what} (${detail})`);
  }

  garbled(what: string, expected: string): InferError {
    return invalidArg(`MLflow server at ${this.t.host} answered ${what} without ${expected}; is it an MLflow server?`);
  }
}

/** A body's chunks, failing with `tooMuch()` past `max` bytes and `broken()` when reading fails. */
async function* bounded(
  res: Response,
  max: number,
  tooMuch: () => InferError,
  broken: (err: unknown) => InferError,
): AsyncGenerator<Uint8Array> {
  if (!res.body) return;
  const reader = res.body.getReader();
  let size = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read().catch((err: unknown) => {
        throw broken(err);
      });
      if (done) return;
      size += value.byteLength;
      if (size > max) throw tooMuch();
      yield value;
    }
  } finally {
    // Stops the transfer when we stop early (too much, or the consumer gave up).
    await reader.cancel().catch(() => undefined);
  }
}

function artifactPath(path: string): string {
  return `${ARTIFACTS}/${path.split('/').map(encodeURIComponent).join('/')}`;
}

function notFound(message: string): InferError {
  return new InferError('IG_ERR_NOT_FOUND', message);
}
