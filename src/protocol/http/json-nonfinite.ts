/**
 * Triton's JSON reads NaN, Inf, Infinity (optionally negative) as bare literals (rapidjson's
 * kParseNanAndInfFlag), and tritonclient sends them for non-finite FP inputs when binary_data is
 * off. JSON.parse refuses them, so only when it has failed is the text re-read: the literals outside
 * strings are turned into marker strings, and a reviver swaps each marker for a NonFinite value,
 * an object that no JSON document can produce and that only the float decoders accept (a NaN
 * sent as an INT32, or as a parameter, is still refused). Valid JSON never takes this path.
 */
import { replaceBareLiterals } from '../../core/index.js';

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
  const values = new Map(LITERALS.map(([l, v]) => [marker + l, v]));
  const names = LITERALS.map(([l]) => l);
  const { text: marked, found } = replaceBareLiterals(text, names, (lit) => JSON.stringify(marker + lit));
  if (!found) return undefined;
  return JSON.parse(marked, (_k, v) => (typeof v === 'string' && v.startsWith(marker) ? values.get(v) : v));
}
