/**
 * Names the registry accepts. They become directory names (the artifact store's serving tree, a
 * model repository) and URL segments, so they are checked here once, before any lookup or file
 * operation (reliability.md S9): no separators, no dot-only segments, no control characters, no
 * look-alike Unicode, bounded length. Failures are IG_ERR_INVALID_ARG naming the field.
 */
import { invalidArg } from '../core/index.js';

const MODEL = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;
// Aliases are never all digits: `versions/7` must always mean version 7.
const ALIAS = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/;
const SEGMENT = /^[A-Za-z0-9_][A-Za-z0-9_.+-]{0,127}$/;

/** Shown in errors without echoing a 4 KiB or control-character name back whole. */
export function quoteName(name: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is replaced
  const clean = name.replace(/[\u0000-\u001f\u007f-\uffff]/g, '?');
  return clean.length > 64 ? `'${clean.slice(0, 64)}…'` : `'${clean}'`;
}

export function isModelName(name: string): boolean {
  return MODEL.test(name) && !name.includes('..');
}

export function checkModelName(name: string): string {
  if (!isModelName(name))
    throw invalidArg(
      `model name ${quoteName(name)} is not valid: use letters, digits, '_', '-' and '.', start with a letter or digit, at most 128 characters`,
    );
  return name;
}

export function isAliasName(name: string): boolean {
  return ALIAS.test(name);
}

export function checkAliasName(name: string): string {
  if (!isAliasName(name))
    throw invalidArg(
      `alias ${quoteName(name)} is not valid: use letters, digits, '_' and '-', start with a letter, at most 64 characters`,
    );
  return name;
}

/** A version number as given by a user: a positive safe integer, else undefined. */
export function parseVersionNumber(v: string | number): number | undefined {
  const n = typeof v === 'number' ? v : /^[1-9][0-9]{0,14}$/.test(v) ? Number(v) : Number.NaN;
  return Number.isSafeInteger(n) && n > 0 ? n : undefined;
}

export function checkVersionNumber(v: string | number): number {
  const n = parseVersionNumber(v);
  if (n === undefined) throw invalidArg(`version ${quoteName(String(v))} is not a positive integer`);
  return n;
}

/** A file path inside a version: relative, '/'-separated, each segment a plain name. */
export function isSafeFilePath(path: string): boolean {
  if (path.length === 0 || path.length > 512) return false;
  return path.split('/').every((s) => SEGMENT.test(s) && !/^\.+$/.test(s));
}

export function checkFilePath(path: string): string {
  if (!isSafeFilePath(path)) throw invalidArg(`file path ${quoteName(path)} is not a safe relative path`);
  return path;
}
