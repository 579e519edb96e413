/**
 * Model files from URLs, without SSRF (reliability.md S12, the TorchServe "ShellTorch" lesson).
 * Anything a client of the admin API can name goes through `createPolicedFetch`, which decides
 * everything before a socket is opened: scheme, credentials, allowlisted host, and every address
 * the host resolves to. The connection is then pinned to the address that was checked (so a DNS
 * answer that changes between check and connect cannot redirect it), redirects are followed by
 * hand and re-checked hop by hop, and the response is bounded in bytes and time.
 */
import { lookup as dnsLookup } from 'node:dns/promises';
import type { LookupAddress } from 'node:dns';
import { Agent, fetch as undiciFetch } from 'undici';
import { InferError, invalidArg } from '../../core/index.js';
import { isModelName, quoteName } from '../names.js';
import {
  addressNamed,
  classifyAddress,
  describeAddress,
  hostAllowed,
  normalizeHost,
  parseAllowEntries,
} from './address-policy.js';
import type { Fetcher, ResolvedSource } from './types.js';

export interface FetchPolicy {
  /** `host`, `host:port` or `*.domain[:port]`; no port means the scheme's default port only. */
  allowHosts: readonly string[];
  allowHttp: boolean;
  maxBytes: number;
  /** For the whole fetch: resolving, every redirect hop and the body. */
  timeoutMs: number;
  maxRedirects: number;
  /** Resolver (tests inject a stub); defaults to `dns.promises.lookup(host, { all: true })`. */
  lookup?: (host: string) => Promise<Array<{ address: string; family: 4 | 6 }>>;
  /** Extra trusted CA certificates (PEM), for a private model store with its own CA. */
  ca?: string;
}

/** Nothing is fetched until the operator names hosts; frozen so no caller widens it for everyone. */
export const DEFAULT_FETCH_POLICY: FetchPolicy = Object.freeze({
  allowHosts: Object.freeze([]),
  allowHttp: false,
  maxBytes: 8 * 1024 ** 3,
  timeoutMs: 60_000,
  maxRedirects: 3,
});

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
// Credentials meant for one origin must not follow a redirect to another (fetch drops them too).
const ORIGIN_BOUND_HEADERS = ['authorization', 'cookie', 'proxy-authorization'];
const ALLOW_FLAG = '--registry-fetch-allow';

const forbidden = (message: string) => new InferError('IG_ERR_FORBIDDEN_SOURCE', message);

interface Hop {
  url: URL;
  host: string;
  /** The checked address the connection is pinned to. */
  address: string;
  family: 4 | 6;
}

async function defaultLookup(host: string): Promise<Array<{ address: string; family: 4 | 6 }>> {
  const all: LookupAddress[] = await dnsLookup(host, { all: true, verbatim: true });
  return all.map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 }));
}

/** Rejects when `signal` aborts, so a hung resolver is bounded by the fetch's timeout too. */
function raceAbort<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

export function createPolicedFetch(policy: FetchPolicy): Fetcher {
  const entries = parseAllowEntries(policy.allowHosts);
  const resolve = policy.lookup ?? defaultLookup;

  /** Every rule that can be decided without a connection; returns where to connect. */
  async function check(url: URL, signal: AbortSignal, unavailable: (host: string, err: unknown) => InferError) {
    const scheme = url.protocol;
    if (scheme !== 'https:' && !(scheme === 'http:' && policy.allowHttp))
      throw forbidden(
        `source URL scheme ${quoteName(scheme)} is not allowed (only https${policy.allowHttp ? ' and http' : ''})`,
      );
    if (url.username || url.password) throw forbidden('source URL must not carry credentials (user:password@)');
    const host = normalizeHost(url.hostname);
    const defaultPort = scheme === 'https:' ? 443 : 80;
    const port = url.port ? Number(url.port) : defaultPort;
    if (!hostAllowed(entries, host, port, defaultPort))
      throw forbidden(
        `source host ${quoteName(port === defaultPort ? host : `${host}:${port}`)} is not in the allowed hosts (${ALLOW_FLAG})`,
      );
    const literal = classifyAddress(host).kind !== 'invalid';
    let addresses: Array<{ address: string; family: 4 | 6 }>;
    if (literal) addresses = [{ address: host, family: host.includes(':') ? 6 : 4 }];
    else {
      try {
        addresses = await raceAbort(resolve(host), signal);
      } catch (err) {
        throw unavailable(host, err);
      }
      if (addresses.length === 0) throw unavailable(host, new Error('no addresses'));
    }
    // Every address, not just the first: the connection may use any of them, and an attacker's
    // DNS can list a public decoy next to the internal target.
    for (const { address } of addresses) {
      const cls = classifyAddress(address);
      if (cls.kind !== 'public' && !addressNamed(entries, address, port, defaultPort)) {
        const of = literal ? '' : ` of host ${quoteName(host)}`;
        const shown = cls.kind === 'invalid' ? quoteName(address) : address;
        throw forbidden(
          `source address ${shown}${of} is ${describeAddress(cls)} (to allow it, name the address in ${ALLOW_FLAG})`,
        );
      }
    }
    const first = addresses[0]!;
    return { url, host, address: first.address, family: first.family } satisfies Hop;
  }

  return async function policedFetch(input, init = {}) {
    let url: URL;
    try {
      url = new URL(input);
    } catch {
      throw invalidArg('source URL is not a valid absolute URL');
    }
    url.hash = '';
    const timeout = AbortSignal.timeout(policy.timeoutMs);
    const signal = init.signal ? AbortSignal.any([init.signal, timeout]) : timeout;
    const unavailable = (host: string, err: unknown): InferError => {
      if (init.signal?.aborted) return new InferError('IG_ERR_CANCELLED', 'source fetch was cancelled', { cause: err });
      if (timeout.aborted)
        return new InferError(
          'IG_ERR_STORE_UNAVAILABLE',
          `source host ${quoteName(host)} did not answer within ${policy.timeoutMs} ms`,
          { cause: err },
        );
      const code = networkCode(err);
      return new InferError(
        'IG_ERR_STORE_UNAVAILABLE',
        `source host ${quoteName(host)} cannot be reached${code ? ` (${code})` : ''}`,
        { cause: err },
      );
    };
    let method = (init.method ?? 'GET').toUpperCase();
    let body = init.body;
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(init.headers ?? {})) {
      // Host is always the URL's host: it names the origin the address was checked for.
      if (k.toLowerCase() !== 'host') headers[k.toLowerCase()] = v;
    }
    // Compressed responses would not match a declared size or checksum; ask for the bytes as they are.
    headers['accept-encoding'] ??= 'identity';

    for (let hops = 0; ; hops++) {
      const hop = await check(url, signal, unavailable);
      const agent = pinnedAgent(hop, policy.ca);
      let res: Awaited<ReturnType<typeof undiciFetch>>;
      try {
        res = await undiciFetch(hop.url, { method, headers, body, redirect: 'manual', signal, dispatcher: agent });
      } catch (err) {
        void agent.destroy().catch(() => undefined);
        throw unavailable(hop.host, err);
      }
      const drop = () => {
        void res.body?.cancel().catch(() => undefined);
        void agent.destroy().catch(() => undefined);
      };
      if (REDIRECTS.has(res.status) && res.headers.has('location')) {
        drop();
        if (hops >= policy.maxRedirects)
          throw forbidden(
            `source redirected more than ${policy.maxRedirects} times (last from ${quoteName(hop.host)})`,
          );
        let next: URL;
        try {
          next = new URL(res.headers.get('location') ?? '', hop.url);
        } catch {
          throw forbidden(`source host ${quoteName(hop.host)} redirected to an invalid URL`);
        }
        next.hash = '';
        if (next.origin !== hop.url.origin) for (const h of ORIGIN_BOUND_HEADERS) delete headers[h];
        if (res.status === 303 || ((res.status === 301 || res.status === 302) && method === 'POST')) {
          method = method === 'HEAD' ? 'HEAD' : 'GET';
          body = undefined;
          delete headers['content-type'];
        }
        url = next;
        continue;
      }
      if (res.status < 200 || res.status > 299) {
        drop();
        const where = quoteName(hop.url.origin + hop.url.pathname);
        if (res.status === 404) throw new InferError('IG_ERR_NOT_FOUND', `source ${where} was not found (HTTP 404)`);
        throw new InferError(
          'IG_ERR_STORE_UNAVAILABLE',
          `source host ${quoteName(hop.host)} answered HTTP ${res.status}`,
        );
      }
      const declared = Number(res.headers.get('content-length') ?? Number.NaN);
      if (declared > policy.maxBytes) {
        drop();
        throw tooLarge(hop.host, policy.maxBytes);
      }
      const guarded = res.body
        ? guardBody(res.body, policy.maxBytes, hop.host, (err) => unavailable(hop.host, err), agent)
        : null;
      if (!guarded) void agent.close().catch(() => undefined);
      const out = new Response(guarded, { status: res.status, statusText: res.statusText, headers: [...res.headers] });
      // A constructed Response has no URL; callers resolving relative links need the final one.
      Object.defineProperty(out, 'url', { value: hop.url.href });
      return out;
    }
  };
}

/** An agent whose every connection goes to the checked address, whatever DNS says by then. */
function pinnedAgent(hop: Hop, ca: string | undefined): Agent {
  const lookup = (
    _host: string,
    opts: { all?: boolean },
    cb: (err: Error | null, address: string | LookupAddress[], family?: number) => void,
  ) => {
    if (opts?.all) cb(null, [{ address: hop.address, family: hop.family }]);
    else cb(null, hop.address, hop.family);
  };
  return new Agent({ connect: { lookup, ...(ca ? { ca } : {}) } });
}

function tooLarge(host: string, max: number): InferError {
  return forbidden(`source response from host ${quoteName(host)} is larger than the limit of ${max} bytes`);
}

/** Counts the body as it streams, and turns transport failures into coded errors. */
function guardBody(
  body: ReadableStream<Uint8Array>,
  max: number,
  host: string,
  mapError: (err: unknown) => InferError,
  agent: Agent,
): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  let seen = 0;
  const release = (graceful: boolean) => void (graceful ? agent.close() : agent.destroy()).catch(() => undefined);
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        let chunk: Awaited<ReturnType<typeof reader.read>>;
        try {
          chunk = await reader.read();
        } catch (err) {
          release(false);
          controller.error(mapError(err));
          return;
        }
        if (chunk.done) {
          release(true);
          controller.close();
          return;
        }
        seen += chunk.value.byteLength;
        if (seen > max) {
          void reader.cancel().catch(() => undefined);
          release(false);
          controller.error(tooLarge(host, max));
          return;
        }
        controller.enqueue(chunk.value);
      },
      async cancel(reason) {
        release(false);
        await reader.cancel(reason).catch(() => undefined);
      },
    },
    { highWaterMark: 0 },
  );
}

function networkCode(err: unknown): string | undefined {
  for (let e: unknown = err, i = 0; e && i < 5; e = (e as { cause?: unknown }).cause, i++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && /^[A-Z][A-Z0-9_]+$/.test(code)) return code;
  }
  return undefined;
}

const SHA256 = /^[0-9a-f]{64}$/;

/**
 * A URL to one `.onnx` file (by its path, or served as application/octet-stream) → a one-file
 * source `model.onnx`. The checksum the push verifies comes from `opts.sha256` or a
 * `#sha256=<hex>` fragment. The first GET only reads the headers; `open()` makes its own GET so
 * the push streams the bytes straight through the artifact store.
 */
export async function resolveHttp(
  url: string,
  fetch: Fetcher,
  opts: { sha256?: string } = {},
): Promise<ResolvedSource> {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw invalidArg('source URL is not a valid absolute URL');
  }
  const fragment = /^#sha256=([0-9a-fA-F]{64})$/.exec(u.hash)?.[1]?.toLowerCase();
  if (u.hash && !fragment) throw invalidArg('source URL fragment must be #sha256=<64 hex digits>');
  const given = opts.sha256?.toLowerCase();
  if (given !== undefined && !SHA256.test(given)) throw invalidArg('sha256 must be 64 hex digits');
  if (given && fragment && given !== fragment)
    throw invalidArg('the sha256 option and the #sha256= fragment of the source URL differ');
  const sha256 = given ?? fragment;
  u.hash = '';
  const target = u.href;

  const head = await fetch(target);
  await head.body?.cancel().catch(() => undefined);
  const type = (head.headers.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
  const name = decodeSegment(u.pathname.split('/').at(-1) ?? '');
  if (!name.toLowerCase().endsWith('.onnx') && type !== 'application/octet-stream')
    throw invalidArg(
      `source URL is not an .onnx model: its path does not end in .onnx and its Content-Type is ${quoteName(type || 'missing')}`,
    );
  const encoding = (head.headers.get('content-encoding') ?? 'identity').trim().toLowerCase();
  const length = head.headers.get('content-length');
  const size = encoding === 'identity' && length && /^[0-9]+$/.test(length) ? Number(length) : undefined;
  // Only a file name says what the model is called; `/download/123` says nothing.
  const stem = /\.onnx$/i.test(name) ? name.slice(0, -5) : '';
  return {
    // Queries carry signed-URL tokens and fragments carry the checksum: neither belongs in the record.
    uri: u.origin + u.pathname,
    format: 'onnx',
    files: [
      {
        path: 'model.onnx',
        size,
        sha256,
        open: async () => {
          const res = await fetch(target);
          if (!res.body)
            throw new InferError('IG_ERR_STORE_UNAVAILABLE', `source host ${quoteName(u.host)} sent no body`);
          return res.body;
        },
      },
    ],
    suggestedName: isModelName(stem) ? stem : undefined,
  };
}

function decodeSegment(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
