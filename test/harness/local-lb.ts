// A stand-in for a Kubernetes Service in front of infergate replicas (reliability.md §3 "local LB",
// case R12): an HTTP/1.1 reverse proxy on 127.0.0.1 that round-robins over endpoints the test adds
// and removes at runtime. Removal can lag (`remove(endpoint, lagMs)`), as endpoint propagation lags
// a pod's SIGTERM, so a draining replica still gets traffic for a while and must serve it.
// HTTP only: gRPC through the LB is not covered (that needs an HTTP/2 proxy that relays GOAWAY).
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pipeline } from 'node:stream/promises';
import { Pool } from 'undici';

/** What happened to the requests placed on one endpoint (kept across its removal and re-adding). */
export interface EndpointStats {
  /** Requests an upstream answered (status and headers came back). */
  forwarded: number;
  /** Of those, answers that said `Connection: close` (a draining replica retiring the socket). */
  connectionClose: number;
  /** Connects refused: nothing was sent, so the request went to another endpoint. */
  refused: number;
  /** Failures after the request was sent (ECONNRESET, UND_ERR_SOCKET "other side closed"...), by code. */
  errors: Record<string, number>;
}

/** One failure after sending, for a test's message: which endpoint, which request, which error, when. */
export interface UpstreamFailure {
  at: number;
  endpoint: string;
  method: string;
  path: string;
  code: string;
  message: string;
}

// Hop-by-hop headers describe one connection, not the request: the proxy's two legs each have their
// own (undici also refuses most of them). The body is buffered, so undici sets content-length itself.
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'expect',
  'host',
  'content-length',
]);

function endToEnd(h: IncomingHttpHeaders | Record<string, string | string[] | undefined>, keep: string[] = []) {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(h)) if (v !== undefined && (!HOP_BY_HOP.has(k) || keep.includes(k))) out[k] = v;
  return out;
}

const codeOf = (err: unknown) => String((err as { code?: unknown }).code ?? (err as Error).name ?? 'unknown');

export class LocalLb {
  readonly failures: UpstreamFailure[] = [];
  readonly #stats = new Map<string, EndpointStats>();
  #rotation: Array<{ endpoint: string; pool: Pool }> = [];
  #next = 0;
  readonly #closing = new Set<Promise<void>>();
  readonly #server = createServer((req, res) => {
    // A client that goes away while sending its body: nothing to answer.
    this.#forward(req, res).catch(() => res.destroy());
  });

  /** Listens on 127.0.0.1 at a free port; resolves the proxy's base URL. */
  async listen(): Promise<string> {
    await new Promise<void>((r) => this.#server.listen(0, '127.0.0.1', r));
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  /** Puts `host:port` in the rotation, with a fresh keep-alive pool. */
  add(endpoint: string): void {
    if (this.#rotation.some((e) => e.endpoint === endpoint)) return;
    if (!this.#stats.has(endpoint))
      this.#stats.set(endpoint, { forwarded: 0, connectionClose: 0, refused: 0, errors: {} });
    // undici retires a socket whose response said `Connection: close` (a draining replica's answers).
    this.#rotation.push({ endpoint, pool: new Pool(`http://${endpoint}`, { connections: 32, pipelining: 1 }) });
  }

  /**
   * Takes `endpoint` out of the rotation after `lagMs` (Kubernetes removes a terminating pod's
   * endpoint asynchronously). Requests already placed on it finish; its idle sockets then close.
   */
  async remove(endpoint: string, lagMs = 0): Promise<void> {
    if (lagMs > 0) await new Promise((r) => setTimeout(r, lagMs));
    const gone = this.#rotation.find((e) => e.endpoint === endpoint);
    if (gone === undefined) return;
    this.#rotation = this.#rotation.filter((e) => e !== gone);
    const closing = gone.pool.close();
    this.#closing.add(closing);
    void closing.finally(() => this.#closing.delete(closing));
  }

  endpoints(): string[] {
    return this.#rotation.map((e) => e.endpoint);
  }

  stats(): Record<string, EndpointStats> {
    return Object.fromEntries([...this.#stats].map(([k, s]) => [k, { ...s, errors: { ...s.errors } }]));
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise((r) => this.#server.close(r));
    await Promise.all([...this.#rotation.map((e) => e.pool.close()), ...this.#closing]);
    this.#rotation = [];
  }

  async #forward(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // Buffered so a connect-refused retry can send the same bytes again (inference bodies are small).
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks);
    const tried = new Set<string>();
    const start = this.#next++;
    for (;;) {
      const target = this.#pick(start, tried);
      if (target === undefined) {
        const why = tried.size === 0 ? 'no endpoints' : `every endpoint refused the connection: ${[...tried]}`;
        res.writeHead(502, { 'content-type': 'application/json' }).end(JSON.stringify({ error: `local-lb: ${why}` }));
        return;
      }
      tried.add(target.endpoint);
      const stats = this.#stats.get(target.endpoint)!;
      let up: Awaited<ReturnType<Pool['request']>>;
      try {
        up = await target.pool.request({
          path: req.url ?? '/',
          method: req.method as 'GET',
          headers: endToEnd(req.headers),
          body: body.length > 0 ? body : null,
        });
      } catch (err) {
        // Refused = the request never left, so another endpoint may take it. Anything else may have
        // reached the server: retrying would hide a real failure (and could execute twice).
        if (codeOf(err) === 'ECONNREFUSED') {
          stats.refused++;
          continue;
        }
        this.#fail(stats, target.endpoint, req, err);
        res.writeHead(502, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: `local-lb: ${target.endpoint} failed after the request was sent: ${err}` }));
        return;
      }
      stats.forwarded++;
      if (String(up.headers.connection).toLowerCase() === 'close') stats.connectionClose++;
      // The client's connection is the proxy's own: the upstream's `Connection: close` stays upstream.
      res.writeHead(up.statusCode, endToEnd(up.headers, ['content-length']));
      try {
        await pipeline(up.body, res);
      } catch (err) {
        // A body cut mid-way: the client sees its connection reset, as it would without the proxy. (A
        // client leaving mid-body lands here too; R12's clients never do.)
        this.#fail(stats, target.endpoint, req, err);
      }
      return;
    }
  }

  /** Round-robin: each request starts one endpoint further; a retry moves on from there. */
  #pick(start: number, tried: Set<string>) {
    for (let i = 0; i < this.#rotation.length; i++) {
      const e = this.#rotation[(start + i) % this.#rotation.length]!;
      if (!tried.has(e.endpoint)) return e;
    }
    return undefined;
  }

  #fail(stats: EndpointStats, endpoint: string, req: IncomingMessage, err: unknown): void {
    const code = codeOf(err);
    stats.errors[code] = (stats.errors[code] ?? 0) + 1;
    const message = String((err as Error).message ?? err);
    this.failures.push({ at: Date.now(), endpoint, method: req.method ?? '', path: req.url ?? '', code, message });
  }
}
