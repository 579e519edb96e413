/**
 * JSON in and out of the HTTP layer. Parsing checks nesting depth with a linear byte scan before
 * JSON.parse runs, so a nesting bomb costs one pass and never reaches code that recurses.
 * Writing supports bigint (statistics ns, INT64 tensors) as plain JSON integers, which
 * JSON.stringify refuses and Node 20 has no JSON.rawJSON for.
 */
import { invalidArg } from '../../core/index.js';
import { parseWithNonFinite } from './json-nonfinite.js';

const OPEN_BRACE = 0x7b;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACE = 0x7d;
const CLOSE_BRACKET = 0x5d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/**
 * Deepest nesting of objects/arrays in a JSON text, stopping early once `limit` is passed.
 * Bytes inside strings are skipped; UTF-8 continuation bytes never equal '"' or '\\'.
 */
export function jsonDepthExceeds(buf: Uint8Array, start: number, end: number, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = start; i < end; i++) {
    const c = buf[i] as number;
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
    } else if (c === QUOTE) inString = true;
    else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      if (++depth > limit) return true;
    } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) depth--;
  }
  return false;
}

/** Parses `buf[start, end)` as JSON after the depth check; throws IG_ERR_INVALID_ARG naming the problem. */
export function parseJsonBuffer(buf: Uint8Array, start: number, end: number, maxDepth: number): unknown {
  if (jsonDepthExceeds(buf, start, end, maxDepth))
    throw invalidArg(`failed to parse the request JSON buffer: nesting deeper than ${maxDepth} levels`);
  const text = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength).toString('utf8', start, end);
  if (text.trim() === '') throw invalidArg('failed to parse the request JSON buffer: the document is empty');
  try {
    return JSON.parse(text);
  } catch (err) {
    // Triton's NaN / Infinity literals (json-nonfinite.ts): read only once plain JSON has failed.
    let value: unknown;
    try {
      value = /NaN|Inf/.test(text) ? parseWithNonFinite(text) : undefined;
    } catch {
      // Not that either: report the first parse's error.
    }
    if (value !== undefined) return value;
    throw invalidArg(`failed to parse the request JSON buffer: ${(err as Error).message}`);
  }
}

/** Parses an optional JSON object body (admin endpoints); empty body → {}. */
export function parseJsonObjectBody(body: Buffer | undefined, maxDepth: number): Record<string, unknown> {
  if (body === undefined || body.byteLength === 0) return {};
  const value = parseJsonBuffer(body, 0, body.byteLength, maxDepth);
  if (!isPlainObject(value)) throw invalidArg('the request body must be a JSON object');
  return value;
}

/** True for a JSON object (not null, not an array). */
export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * JSON text for server-produced data: like JSON.stringify, but bigint → integer digits and
 * typed arrays → arrays. Recursion is fine here: the input is our own bounded data.
 */
export function stringifyJson(value: unknown): string {
  switch (typeof value) {
    case 'bigint':
      return value.toString();
    case 'number':
      return Number.isFinite(value) ? String(value) : 'null';
    case 'string':
    case 'boolean':
      return JSON.stringify(value);
    case 'object':
      if (value === null) return 'null';
      if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? 'null' : stringifyJson(v))).join(',')}]`;
      if (ArrayBuffer.isView(value) && !(value instanceof DataView))
        return stringifyJson(Array.from(value as unknown as ArrayLike<unknown>));
      return stringifyObject(value as Record<string, unknown>);
    default:
      return 'null';
  }
}

function stringifyObject(obj: Record<string, unknown>): string {
  const parts: string[] = [];
  for (const key of Object.keys(obj)) {
    const v = obj[key];
    if (v === undefined || typeof v === 'function' || typeof v === 'symbol') continue;
    parts.push(`${JSON.stringify(key)}:${stringifyJson(v)}`);
  }
  return `{${parts.join(',')}}`;
}
