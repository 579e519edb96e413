/**
 * Trace settings (protocol.md §B.7) when no tracing is wired into the server (unit tests): GET
 * returns Triton's default settings with tracing OFF, and POST validates the keys and value types
 * but changes nothing. With tracing, observability/trace-control.ts answers instead.
 */
import { invalidArg } from '../../core/index.js';

export type TraceSettings = Record<string, string | string[]>;

const DEFAULTS: TraceSettings = {
  trace_file: '',
  trace_level: ['OFF'],
  trace_rate: '1000',
  trace_count: '-1',
  log_frequency: '0',
  trace_mode: 'triton',
};

const KNOWN = new Set([...Object.keys(DEFAULTS), 'trace_config']);

/** The current (default) trace settings. */
export function traceSettings(): TraceSettings {
  return { ...DEFAULTS, trace_level: [...(DEFAULTS.trace_level as string[])] };
}

/** Validates a POST body: known keys only, values string, array of strings or null. */
export function validateTraceUpdate(update: Record<string, unknown>): void {
  for (const [key, value] of Object.entries(update)) {
    if (!KNOWN.has(key)) throw invalidArg(`unknown trace setting '${key.slice(0, 64)}'`);
    const ok =
      value === null ||
      typeof value === 'string' ||
      typeof value === 'number' ||
      (Array.isArray(value) && value.every((v) => typeof v === 'string'));
    if (!ok) throw invalidArg(`trace setting '${key}' must be a string, an array of strings or null`);
  }
}
