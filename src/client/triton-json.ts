/**
 * JSON as Triton (and infergate) write it: rapidjson's NaN, Infinity and -Infinity literals for
 * non-finite floats, which JSON.parse refuses. Plain JSON parses as usual; only when that fails are
 * the bare literals outside strings turned into strings ("NaN", "-Infinity"), which Number() reads.
 */
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
  let out = '';
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (inString) {
      out += c;
      if (c === '\\') out += text[++i] ?? '';
      else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') inString = true;
    const lit = c === '-' || c === 'I' || c === 'N' ? LITERALS.find((l) => text.startsWith(l, i)) : undefined;
    if (lit !== undefined) {
      out += `"${lit}"`;
      i += lit.length - 1;
    } else out += c;
  }
  return out;
}
