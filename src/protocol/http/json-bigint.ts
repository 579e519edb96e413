/**
 * INT64/UINT64 values past 2^53 in a JSON infer request, read exactly as Triton reads them.
 *
 * JSON.parse rounds every number to a double, and Node 20's JSON.parse has no access to a number's
 * source text. Re-reading every body to keep digits would slow the common path, so it happens only
 * when needed: a 64-bit integer sink that meets an integer a double cannot hold exactly throws
 * `NeedsExactIntegers`, and the request is decoded again from a parse in which every integer token
 * of 16 digits or more (outside strings) became an `ExactInt`. Only the INT64/UINT64 sinks accept
 * one; anywhere else it is refused like any other wrong value.
 */
import { invalidArg } from '../../core/index.js';

/** An integer read from its JSON digits, beyond what a double holds exactly. */
export class ExactInt {
  constructor(readonly value: bigint) {}
}

/** Thrown by a 64-bit sink that got a rounded integer: decode again with `parseWithExactIntegers`. */
export class NeedsExactIntegers extends Error {}

const isDigit = (c: number) => c >= 0x30 && c <= 0x39;

/** JSON text with each long integer token outside strings replaced by `mark(token)`. */
function markLongIntegers(text: string, mark: (token: string) => string): string {
  const parts: string[] = [];
  let from = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
      continue;
    }
    if (c === 0x22) {
      inString = true;
      continue;
    }
    if (!isDigit(c) && c !== 0x2d) continue;
    let end = c === 0x2d ? i + 1 : i;
    while (end < text.length && isDigit(text.charCodeAt(end))) end++;
    const next = text.charCodeAt(end);
    const digits = end - (c === 0x2d ? i + 1 : i);
    // A fraction or an exponent makes it a float: left to JSON.parse as it is.
    if (digits >= 16 && next !== 0x2e && next !== 0x65 && next !== 0x45) {
      parts.push(text.slice(from, i), mark(text.slice(i, end)));
      from = end;
    }
    i = end - 1;
  }
  parts.push(text.slice(from));
  return parts.join('');
}

/** Parses JSON keeping every integer of 16+ digits exact, as an ExactInt. */
export function parseWithExactIntegers(text: string): unknown {
  const marker = `\u0000exact-${Math.random().toString(36).slice(2)}:`;
  const marked = markLongIntegers(text, (token) => JSON.stringify(marker + token));
  try {
    return JSON.parse(marked, (_k, v) =>
      typeof v === 'string' && v.startsWith(marker) ? new ExactInt(BigInt(v.slice(marker.length))) : v,
    );
  } catch (err) {
    throw invalidArg(`failed to parse the request JSON buffer: ${(err as Error).message}`);
  }
}
