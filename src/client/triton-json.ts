/**
 * JSON as Triton (and infergate) write it: rapidjson's NaN, Infinity and -Infinity literals for
 * non-finite floats, which JSON.parse refuses. Plain JSON parses as usual; only when that fails are
 * the bare literals outside strings turned into strings ("NaN", "-Infinity"), which Number() reads.
 */
import { replaceBareLiterals } from '../core/index.js';

const LITERALS = ['-Infinity', 'Infinity', 'NaN'];

export function parseTritonJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    if (!/NaN|Infinity/.test(text)) throw err;
    return JSON.parse(quoteLiterals(text));
  }
}

function quoteLiterals(text: string): string {
  return replaceBareLiterals(text, LITERALS, (lit) => `"${lit}"`).text;
}
