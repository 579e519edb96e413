/**
 * Flag values of the rollout and traffic commands: durations (`2m`, `120s`, `500ms`), percents
 * (`1%`), counts and `VERSION=NUMBER` pairs. Every error names the flag and what was given, so a
 * mistyped gate is refused before anything is written, never read as some other threshold.
 */
import { invalidArg } from '../../core/index.js';

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** `500ms`, `120s`, `2m`, `1h` (a unit is required: a bare `2` could mean seconds or minutes) → ms. */
export function parseDuration(v: string, flag: string): number {
  const m = /^([0-9]+(?:\.[0-9]+)?)(ms|s|m|h)$/.exec(v.trim());
  const ms = m ? Number(m[1]) * (UNITS[m[2] as string] as number) : Number.NaN;
  if (!(ms > 0 && Number.isFinite(ms)))
    throw invalidArg(`${flag} must be a positive duration such as 2m, 120s or 500ms (got '${v}')`);
  return ms;
}

/**
 * A gate share: `1%`, or the fraction `0.01`, as a fraction in [0, 1). A bare number of 1 or more
 * is refused as ambiguous (is `2` two percent or 200 %?).
 */
export function parseFraction(v: string, flag: string): number {
  const t = v.trim();
  const pct = t.endsWith('%');
  const n = Number(pct ? t.slice(0, -1) : t);
  const bad = t === '' || t === '%' || !Number.isFinite(n) || n < 0 || (pct ? n >= 100 : n >= 1);
  if (bad) throw invalidArg(`${flag} must be a percent below 100% such as 1%, or a fraction such as 0.01 (got '${v}')`);
  return pct ? n / 100 : n;
}

/** A share of calls in percent: `5` or `5%`, within [min, 100]. */
export function parsePercent(v: string, flag: string, min = 0): number {
  const t = v.trim();
  const n = Number(t.endsWith('%') ? t.slice(0, -1) : t);
  if (t === '' || t === '%' || !Number.isFinite(n) || n < min || n > 100)
    throw invalidArg(`${flag} must be a percent within [${min}, 100] such as 5 or 5% (got '${v}')`);
  return n;
}

export function parsePositive(v: string, flag: string): number {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || n <= 0)
    throw invalidArg(`${flag} must be a positive number (got '${v}')`);
  return n;
}

export function parseCount(v: string, flag: string): number {
  const n = Number(v);
  if (v.trim() === '' || !Number.isSafeInteger(n) || n < 1)
    throw invalidArg(`${flag} must be a positive integer (got '${v}')`);
  return n;
}

/** `5,25,50,100` (a `%` after each is allowed); the service checks that they rise to 100. */
export function parseSteps(v: string, flag: string): number[] {
  const parts = v.split(',');
  return parts.map((p) => {
    try {
      return parsePercent(p, flag, Number.MIN_VALUE);
    } catch {
      throw invalidArg(`${flag} must be rising percents ending at 100 such as 5,25,50,100 (got '${v}')`);
    }
  });
}

/** `VERSION=NUMBER` (e.g. `--arm 2=10`, `--shadow 2=5`); the number is checked by the caller's rules. */
export function parseVersionPair(v: string, flag: string, what: string): { version: number; value: number } {
  const m = /^\s*([0-9]+)\s*=\s*([0-9]+(?:\.[0-9]+)?)\s*%?\s*$/.exec(v);
  const version = m ? Number(m[1]) : Number.NaN;
  if (!m || !Number.isSafeInteger(version) || version < 1)
    throw invalidArg(`${flag} '${v}' must be VERSION=${what} such as 2=10`);
  return { version, value: Number(m[2]) };
}
