/** Model-name globs (`acme-*`, `shared-?`): `*` any run of characters, `?` one; nothing else is special. */

const cache = new Map<string, RegExp>();

function compile(glob: string): RegExp {
  let re = cache.get(glob);
  if (!re) {
    const body = glob
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.');
    re = new RegExp(`^${body}$`);
    if (cache.size < 10_000) cache.set(glob, re);
  }
  return re;
}

export function matchesAny(name: string, globs: readonly string[]): boolean {
  return globs.some((g) => compile(g).test(name));
}
