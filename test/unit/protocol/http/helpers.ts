/** Helpers for HTTP protocol tests: a server over the fake service and binary-extension bodies. */
import { createHttpServer, type HttpServerOptions } from '../../../../src/protocol/http/index.js';
import { FakeService } from './fake-service.js';

/** A fresh fake service and server (not listening; use fastify.inject). */
export function setup(options?: HttpServerOptions) {
  const service = new FakeService();
  const server = createHttpServer(service, options);
  return { service, server, app: server.fastify };
}

/** Builds a binary-extension body: JSON header then the chunks; returns body and header length. */
export function binaryBody(header: unknown, chunks: Uint8Array[]): { body: Buffer; headerLength: number } {
  const json = Buffer.from(JSON.stringify(header));
  return { body: Buffer.concat([json, ...chunks]), headerLength: json.byteLength };
}

/** Splits a binary-extension response into its JSON header and the binary bytes after it. */
export function splitResponse(body: Buffer, headerLength: number | undefined) {
  const n = headerLength ?? body.byteLength;
  return { json: JSON.parse(body.subarray(0, n).toString('utf8')), tail: body.subarray(n) };
}

/** JSON POST options for inject(). */
export function postJson(url: string, payload: unknown, headers: Record<string, string> = {}) {
  return {
    method: 'POST' as const,
    url,
    payload: typeof payload === 'string' ? payload : JSON.stringify(payload),
    headers: { 'content-type': 'application/json', ...headers },
  };
}
