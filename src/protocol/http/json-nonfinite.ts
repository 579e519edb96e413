/**
 * Triton's JSON reads NaN, Inf, Infinity (optionally negative) as bare literals (rapidjson's
 * kParseNanAndInfFlag), and tritonclient sends them for non-finite FP inputs when binary_data is
 * off. JSON.parse refuses them, so only when it has failed is the text re-read: the literals outside
 * strings are turned into marker strings, and a reviver swaps each marker for a NonFinite value,
 * an object that no JSON document can produce and that only the float decoders accept (a NaN
 * sent as an INT32, or as a parameter, is still refused). Valid JSON never takes this path.
 */

/** A non-finite number read from a JSON literal. */
export class NonFinite {
  constructor(readonly value: number) {}
}

const NAN = new NonFinite(Number.NaN);
const POS = new NonFinite(Number.POSITIVE_INFINITY);
const NEG = new NonFinite(Number.NEGATIVE_INFINITY);

// Longest first, so "Infinity" is not read as "Inf" + garbage.
const LITERALS: Array<[string, NonFinite]> = [
  ['-Infinity', NEG],
  ['Infinity', POS],
  ['-Inf', NEG],
  ['Inf', POS],
  ['-NaN', NAN],
  ['NaN', NAN],
];

/** Parses JSON with Triton's non-finite literals, or undefined when the text has none outside strings. */
export function parseWithNonFinite(text: string): unknown {
  const marker = `\u0000nonfinite-${Math.random().toString(36).slice(2)}:`;
  const byMarker = new Map<string, NonFinite>();
  let out = '';
  let inString = false;
  let found = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (inString) {
      out += c;
      if (c === '\\') out += text[++i] ?? '';
      else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') inString = true;
    const lit = c === '-' || c === 'I' || c === 'N' ? LITERALS.find(([l]) => text.startsWith(l, i)) : undefined;
    if (lit === undefined) {
      out += c;
      continue;
    }
    const key = marker + lit[0];
    byMarker.set(key, lit[1]);
    out += JSON.stringify(key);
    i += lit[0].length - 1;
    found = true;
  }
  if (!found) return undefined;
  return JSON.parse(out, (_k, v) => (typeof v === 'string' && v.startsWith(marker) ? byMarker.get(v) : v));
}
