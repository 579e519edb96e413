// Local servers for the S12 fetch tests: a canary that must never be reached, and a file server
// whose routes misbehave in the ways a model store can (huge, endless, slow, truncated, missing).
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createNetServer, type Server as NetServer } from 'node:net';
import { InferError } from '../../../src/core/index.js';
import type { FetchPolicy } from '../../../src/registry/sources/http.js';
import type { Fetcher } from '../../../src/registry/sources/types.js';

export const MODEL = randomBytes(50_000);
export const MODEL_SHA = createHash('sha256').update(MODEL).digest('hex');

export async function listen(server: NetServer, host = '127.0.0.1', port = 0): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address();
  assert.ok(addr && typeof addr === 'object');
  return addr.port;
}

export function closeAll(...servers: NetServer[]): Promise<unknown> {
  return Promise.all(
    servers.map((s) => {
      (s as Server).closeAllConnections?.();
      return new Promise((resolve) => s.close(resolve));
    }),
  );
}

/** Counts every TCP connection on 127.0.0.1:<port> and, where the host has IPv6, [::1]:<port>. */
export async function startCanary(): Promise<{
  port: number;
  connections: () => number;
  close: () => Promise<unknown>;
}> {
  let count = 0;
  const onConn = (sock: import('node:net').Socket) => {
    count++;
    sock.destroy();
  };
  const v4 = createNetServer(onConn);
  const port = await listen(v4);
  const servers: NetServer[] = [v4];
  const v6 = createNetServer(onConn);
  try {
    await listen(v6, '::1', port);
    servers.push(v6);
  } catch {
    // No IPv6 loopback here: a connection to [::1] could not happen at all.
  }
  return { port, connections: () => count, close: () => closeAll(...servers) };
}

/** A resolver stub: the names it knows, and a log of every lookup (to prove one lookup per hop). */
export function resolverStub(names: Record<string, string[]>) {
  const calls: string[] = [];
  const lookup: NonNullable<FetchPolicy['lookup']> = async (host) => {
    calls.push(host);
    const found = names[host];
    if (!found) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
    return found.map((address) => ({ address, family: address.includes(':') ? (6 as const) : (4 as const) }));
  };
  return { lookup, calls };
}

/** The model store under test. `requests` logs every path asked for. */
export async function startFileServer(): Promise<{ server: Server; port: number; requests: string[] }> {
  const requests: string[] = [];
  const server = createHttpServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    requests.push(path);
    switch (path) {
      case '/digits.onnx':
      case '/model.onnx':
        res.writeHead(200, { 'content-type': 'application/x-onnx', 'content-length': MODEL.length });
        res.end(MODEL);
        return;
      case '/blob':
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': MODEL.length });
        res.end(MODEL);
        return;
      case '/page':
        res.writeHead(200, { 'content-type': 'text/html' });
        res.end('<html></html>');
        return;
      case '/declared-huge.onnx':
        // Headers only: a client that waits for the body instead of refusing would time out.
        res.writeHead(200, { 'content-length': 10_000_000 });
        res.flushHeaders();
        return;
      case '/endless.onnx': {
        res.writeHead(200, { 'content-type': 'application/octet-stream' });
        const timer = setInterval(() => res.write(Buffer.alloc(512, 1)), 5);
        res.on('close', () => clearInterval(timer));
        return;
      }
      case '/truncated.onnx':
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': MODEL.length });
        res.write(MODEL.subarray(0, MODEL.length / 2), () => setTimeout(() => req.socket.destroy(), 20));
        return;
      case '/hang':
        return;
      case '/error':
        res.writeHead(500);
        res.end('boom');
        return;
      case '/echo-auth':
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end(req.headers.authorization ?? 'none');
        return;
      default:
        res.writeHead(404);
        res.end('not found');
    }
  });
  const port = await listen(server);
  return { server, port, requests };
}

/** Asserts a coded refusal (a message, never a stack), reading the body when the fetch resolves. */
export async function assertRejects(fetch: Fetcher, url: string, code: string, message: RegExp): Promise<void> {
  await assert.rejects(
    async () => {
      const res = await fetch(url);
      await res.arrayBuffer();
    },
    (err: unknown) => {
      assert.ok(err instanceof InferError, `not an InferError: ${String(err)}`);
      assert.equal(err.code, code, err.message);
      assert.match(err.message, message);
      assert.doesNotMatch(err.message, /\n\s+at /);
      return true;
    },
    url,
  );
}
