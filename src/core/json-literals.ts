/**
 * The one scanner for bare tokens in JSON text outside strings (Triton's NaN / Infinity literals):
 * used by the server to read them in requests and by our client to read them in responses.
 */

/**
 * `text` with each of `literals` that stands outside a string replaced by `replace(literal)`;
 * `found` says whether any was. Try longer literals first ("Infinity" before "Inf").
 */
export function replaceBareLiterals(
  text: string,
  literals: readonly string[],
  replace: (literal: string) => string,
): { text: string; found: boolean } {
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
    const lit = c === '-' || c === 'I' || c === 'N' ? literals.find((l) => text.startsWith(l, i)) : undefined;
    if (lit === undefined) {
      out += c;
      continue;
    }
    out += replace(lit);
    i += lit.length - 1;
    found = true;
  }
  return { text: out, found };
}
