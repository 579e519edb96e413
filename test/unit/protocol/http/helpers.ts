/** Helpers for HTTP protocol tests: a server over the real services and binary-extension bodies. */
import { DATATYPES } from '../../../../src/core/index.js';
import { createHttpServer, type HttpServerOptions } from '../../../../src/protocol/http/index.js';
import type { Services } from '../../../../src/router/types.js';
import { echoModel, echoName, type ModelDef, type RealServices, startRealServices } from '../real-services.js';

/** 'simple': INPUT0 → OUTPUT0, INT32 [-1,16]; version 1 ready, version 2 fails to load. */
export const SIMPLE: ModelDef = echoModel('simple', 'INT32', [16], {
  maxBatchSize: 8,
  versions: { 1: 'ok', 2: 'broken' },
});

export { echoName };
/** The echo model of every datatype (echoName): INPUT0 → OUTPUT0 of any rank-2 shape, no batching. */
export const ECHOES: ModelDef[] = DATATYPES.map((dt) => echoModel(echoName(dt), dt, [-1, -1]));

/** 16 INT32 values: one valid row for 'simple'. */
export const ROW = Array.from({ length: 16 }, (_, i) => i * 3 - 7);

const open: RealServices[] = [];

/**
 * Fresh real services over `models` (default: 'simple' and the echo models) and a server over
 * them (not listening; use fastify.inject). Pass `closeAll` to the file's after().
 */
export async function setup(
  options?: HttpServerOptions,
  models: ModelDef[] = [SIMPLE, ...ECHOES],
  wrap: (s: Services) => Services = (s) => s,
) {
  const real = await startRealServices(models);
  open.push(real);
  const server = createHttpServer(wrap(real.services), options);
  return { real, server, app: server.fastify };
}

/** Stops every services instance setup() started. */
export async function closeAll(): Promise<void> {
  await Promise.all(open.splice(0).map((r) => r.cleanup()));
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

/** inject() options for a binary-extension infer body. */
export function postBinary(url: string, header: unknown, chunks: Uint8Array[], headers: Record<string, string> = {}) {
  const { body, headerLength } = binaryBody(header, chunks);
  return {
    method: 'POST' as const,
    url,
    payload: body,
    headers: {
      'content-type': 'application/octet-stream',
      'inference-header-content-length': String(headerLength),
      ...headers,
    },
  };
}
