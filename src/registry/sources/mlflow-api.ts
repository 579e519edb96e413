/**
 * The HTTP side of the MLflow source (mlflow.ts resolves a version with it): one tracking server's
 * REST API (MLflow 3.x), its artifact proxy (`mlflow-artifacts:`), and the mapping of its answers
 * and failures onto infergate's errors.
 *
 * Every request goes through the injected Fetcher (the composition root's SSRF policy) and is
 * bounded: a deadline per call, at most 4 MiB of JSON per answer, a bounded artifact walk, and
 * downloads that stop at their declared size and when the server falls silent, so a hostile server
 * can neither hang an import nor make it allocate without limit.
 *
 * Errors: IG_ERR_INVALID_ARG for an answer that is not a usable MLflow answer, IG_ERR_NOT_FOUND
 * (through the caller's `missing`) for what MLflow lacks, IG_ERR_STORE_UNAVAILABLE naming the host
 * when it cannot be reached or fails (5xx), IG_ERR_FORBIDDEN_SOURCE when it refuses us.
 */
import { InferError, invalidArg } from '../../core/index.js';
import { quoteName } from '../names.js';
import type { Fetcher, SourceFile } from './types.js';

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
const MAX_ENTRIES = 10_000;
const MAX_DEPTH = 8;
const MAX_LISTINGS = 256;
const DEFAULT_TIMEOUT_MS = 30_000;
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
export const CONTROL = /[\u0000-\u001f\u007f]/;

/** A run's params and metrics, or undefined when the run is gone. */
export async function getRun(
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

/** One path segment that cannot climb, hide a control character or carry a Windows separator. */
export function isPlainSegment(s: string): boolean {
  return s.length > 0 && s !== '.' && s !== '..' && !CONTROL.test(s) && !s.includes('\\');
}

/** One entry of an artifact listing. */
export interface Listed {
  name: string;
  dir: boolean;
  size?: number;
}

/** Artifact path segments joined with '/', empty ones dropped. */
export function join(...parts: string[]): string {
  return parts.filter((p) => p !== '').join('/');
}

/** Every `.onnx` file under `root`, breadth first, within the depth, listing and entry bounds. */
export async function findOnnx(api: MlflowApi, root: string, top: Listed[]): Promise<string[]> {
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
export function pairs<T>(list: unknown, max: number, pick: (v: unknown) => T | undefined): Record<string, T> {
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

export function obj(v: unknown): Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

export function str(v: unknown): string {
  return typeof v === 'string' ? v : typeof v === 'number' ? String(v) : '';
}

/** The HTTP side: one tracking server, every call bounded in time and size. */
export class MlflowApi {
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

export function notFound(message: string): InferError {
  return new InferError('IG_ERR_NOT_FOUND', message);
}
