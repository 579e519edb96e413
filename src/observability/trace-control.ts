/**
 * Triton's trace settings (protocol.md §B.7) mapped onto OpenTelemetry tracing: trace_level OFF
 * or TIMESTAMPS (TENSORS is accepted and traced as TIMESTAMPS: tensors are never recorded),
 * trace_rate N = one request in N starts a trace, trace_count = how many more traces to start
 * (-1 unlimited), trace_mode is always opentelemetry. Global settings plus per-model overrides;
 * a null value clears a model override or resets a global key. Initial values come from the
 * standard OTEL_* variables (OTEL_TRACES_EXPORTER turns tracing on, OTEL_TRACES_SAMPLER[_ARG]
 * sets the rate). Decisions are made here, before any span object exists.
 */
import { InferError, invalidArg } from '../core/index.js';

/** Settings as the endpoints show them: every value a string or a list of strings. */
export type TraceSettingsView = Record<string, string | string[]>;

interface Settings {
  trace_file: string;
  trace_level: string[];
  trace_rate: string;
  trace_count: string;
  log_frequency: string;
  trace_mode: string;
  trace_config: string[];
}

const DEFAULTS: Settings = {
  trace_file: '',
  trace_level: ['OFF'],
  trace_rate: '1000',
  trace_count: '-1',
  log_frequency: '0',
  trace_mode: 'opentelemetry',
  trace_config: [],
};

const LEVELS = new Set(['OFF', 'TIMESTAMPS', 'TENSORS']);

type Key = keyof Settings;

function isOn(level: readonly string[]): boolean {
  return level.some((l) => l !== 'OFF');
}

/** Settings derived from OTEL_TRACES_EXPORTER / OTEL_TRACES_SAMPLER / OTEL_TRACES_SAMPLER_ARG. */
export function settingsFromEnv(env: Record<string, string | undefined>): {
  settings: Partial<Settings>;
  parentBased: boolean;
} {
  const exporter = (env.OTEL_TRACES_EXPORTER ?? '').trim().toLowerCase();
  const sampler = (env.OTEL_TRACES_SAMPLER ?? 'parentbased_always_on').trim().toLowerCase();
  const parentBased = sampler.startsWith('parentbased_');
  const kind = parentBased ? sampler.slice('parentbased_'.length) : sampler;
  const on = exporter !== '' && exporter !== 'none' && kind !== 'always_off';
  const settings: Partial<Settings> = { trace_level: on ? ['TIMESTAMPS'] : ['OFF'] };
  if (kind === 'always_on') settings.trace_rate = '1';
  if (kind === 'traceidratio') {
    const p = Number(env.OTEL_TRACES_SAMPLER_ARG ?? '1');
    if (Number.isFinite(p) && p > 0) settings.trace_rate = String(Math.max(1, Math.round(1 / Math.min(1, p))));
    else settings.trace_level = ['OFF'];
  }
  return { settings, parentBased };
}

/** Validates one key's new value; returns it normalised. */
function checked(key: string, value: unknown): string | string[] {
  const text = typeof value === 'number' ? String(value) : value;
  const list = Array.isArray(text) ? text : typeof text === 'string' ? [text] : undefined;
  if (!list?.every((v) => typeof v === 'string'))
    throw invalidArg(`trace setting '${key}' must be a string, an array of strings or null`);
  const one = list.length === 1 ? (list[0] as string) : undefined;
  const int = (min: number) => {
    if (one === undefined || !/^-?\d+$/.test(one) || Number(one) < min)
      throw invalidArg(`trace setting '${key}' must be an integer >= ${min}`);
    return one;
  };
  switch (key as Key) {
    case 'trace_level':
      if (list.length === 0 || !list.every((l) => LEVELS.has(l)))
        throw invalidArg("trace setting 'trace_level' must list OFF, TIMESTAMPS or TENSORS");
      return list.includes('OFF') && list.length > 1 ? list.filter((l) => l !== 'OFF') : [...list];
    case 'trace_rate':
      return int(1);
    case 'trace_count':
      return int(-1);
    case 'log_frequency':
      return int(0);
    case 'trace_mode':
      if (one !== 'opentelemetry')
        throw new InferError(
          'IG_ERR_UNSUPPORTED',
          "trace_mode 'triton' is not supported: this server traces with OpenTelemetry",
        );
      return one;
    case 'trace_file':
      return one ?? '';
    case 'trace_config':
      return [...list];
    default:
      throw invalidArg(`unknown trace setting '${key.slice(0, 64)}'`);
  }
}

/** Global and per-model trace settings, and the per-request sampling decision. */
export class TraceControl {
  private global: Settings;
  private readonly models = new Map<string, Partial<Settings>>();
  private count = 0;
  private remaining: number;
  /** True when any trace_level anywhere is not OFF: the one check the hot path makes. */
  on = false;

  constructor(
    initial: Partial<Settings> = {},
    private readonly parentBased = true,
  ) {
    this.global = { ...DEFAULTS, ...initial };
    this.remaining = Number(this.global.trace_count);
    this.refresh();
  }

  /** The effective settings (a model's overrides applied when `model` is given). */
  get(model?: string): TraceSettingsView {
    const s = this.effective(model);
    return { ...s, trace_level: [...s.trace_level], trace_config: [...s.trace_config] };
  }

  /** Validates every key, then applies them all; returns the updated effective settings. */
  update(update: Record<string, unknown>, model?: string): TraceSettingsView {
    const next: Record<string, string | string[] | null> = {};
    for (const [k, v] of Object.entries(update)) {
      if (v === null) checkKey(k);
      next[k] = v === null ? null : checked(k, v);
    }
    const target: Record<string, unknown> = model === undefined ? { ...this.global } : { ...this.models.get(model) };
    for (const [k, v] of Object.entries(next)) {
      if (v !== null) target[k] = v;
      else if (model === undefined) target[k] = DEFAULTS[k as Key];
      else delete target[k];
    }
    if (model === undefined) this.global = target as unknown as Settings;
    else if (Object.keys(target).length === 0) this.models.delete(model);
    else this.models.set(model, target as Partial<Settings>);
    if ('trace_count' in next) this.remaining = Number(this.effective(model).trace_count);
    this.refresh();
    return this.get(model);
  }

  /**
   * Whether a request starts (or continues) a trace. `parentSampled` is the caller's sampled flag
   * (undefined without a valid traceparent): with parent-based sampling it decides alone.
   */
  sample(model: string, parentSampled: boolean | undefined): boolean {
    const s = this.models.size === 0 ? this.global : this.effective(model);
    if (!isOn(s.trace_level)) return false;
    if (this.remaining === 0) return false;
    let yes: boolean;
    if (this.parentBased && parentSampled !== undefined) yes = parentSampled;
    else yes = ++this.count % Number(s.trace_rate) === 0;
    if (yes && this.remaining > 0) this.remaining--;
    return yes;
  }

  private effective(model?: string): Settings {
    const o = model === undefined ? undefined : this.models.get(model);
    return o ? { ...this.global, ...o } : this.global;
  }

  private refresh(): void {
    this.on =
      isOn(this.global.trace_level) || [...this.models.values()].some((o) => o.trace_level && isOn(o.trace_level));
  }
}

function checkKey(key: string): void {
  if (!(key in DEFAULTS)) throw invalidArg(`unknown trace setting '${key.slice(0, 64)}'`);
}
