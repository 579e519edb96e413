/**
 * Model and version names as they appear on disk and in API calls. A model name is only ever
 * turned into a path after it has been found in a directory listing of the repository root.
 */

/** True for a name that can be a model directory: no separators, NUL, control chars or dot-only tricks. */
export function isSafeModelName(name: string): boolean {
  if (name.length === 0 || name.length > 255) return false;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: rejecting control characters is the point
  if (/[/\\\u0000-\u001f]/.test(name)) return false;
  // '.', '..', ' ..', '.. ', ' . ' …: anything that is only dots once whitespace is trimmed.
  return !/^\.+$/.test(name.trim());
}

/** The version number of a directory name: a positive integer not starting with '0'; else undefined. */
export function parseVersionDir(name: string): number | undefined {
  if (!/^[1-9][0-9]*$/.test(name)) return undefined;
  const v = Number(name);
  return Number.isSafeInteger(v) ? v : undefined;
}

/**
 * A version as written by a client ('' / undefined = default). Returns undefined for the default,
 * a number for digits, or null when it cannot name any version.
 */
export function parseRequestedVersion(v: string | number | undefined): number | undefined | null {
  if (v === undefined || v === '') return undefined;
  if (typeof v === 'number') return Number.isSafeInteger(v) && v > 0 ? v : null;
  if (!/^[0-9]+$/.test(v)) return null;
  const n = Number(v);
  return Number.isSafeInteger(n) && n > 0 ? n : null;
}
