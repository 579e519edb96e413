import { InferError } from '../core/index.js';
import type { Logger } from './logger.js';

/** Triton's /v2/logging keys and their current values. */
export interface LogSettingsState {
  log_file: string;
  log_info: boolean;
  log_warning: boolean;
  log_error: boolean;
  log_verbose_level: number;
  log_format: 'default' | 'ISO8601';
}

const BOOL_KEYS = ['log_info', 'log_warning', 'log_error'] as const;

/** Runtime log settings (Triton's logging extension) mapped onto the logger's level. */
export class LogControl {
  private state: LogSettingsState = {
    log_file: '',
    log_info: true,
    log_warning: true,
    log_error: true,
    log_verbose_level: 0,
    log_format: 'default',
  };

  constructor(private readonly logger: Logger) {
    if (logger.level === 'debug' || logger.level === 'trace') this.state.log_verbose_level = 1;
    if (logger.level === 'warn') this.state.log_info = false;
    if (logger.level === 'error') this.state.log_info = this.state.log_warning = false;
  }

  /** Current settings. */
  get(): LogSettingsState {
    return { ...this.state };
  }

  /** Validates every key first, then applies them all; throws IG_ERR_INVALID_ARG naming the bad key. */
  update(update: Record<string, unknown>): LogSettingsState {
    const next = { ...this.state };
    for (const [k, v] of Object.entries(update)) {
      if ((BOOL_KEYS as readonly string[]).includes(k)) {
        if (typeof v !== 'boolean') throw bad(k, 'a boolean');
        next[k as (typeof BOOL_KEYS)[number]] = v;
      } else if (k === 'log_verbose_level') {
        if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw bad(k, 'a non-negative integer');
        next.log_verbose_level = v;
      } else if (k === 'log_format') {
        if (v !== 'default' && v !== 'ISO8601') throw bad(k, "'default' or 'ISO8601'");
        next.log_format = v;
      } else if (k === 'log_file') {
        if (v !== '' && v !== this.state.log_file)
          throw new InferError(
            'IG_ERR_UNSUPPORTED',
            'changing log_file at runtime is not supported; logs go to stdout',
          );
      } else {
        throw new InferError('IG_ERR_INVALID_ARG', `unknown logging setting '${k}'`);
      }
    }
    this.state = next;
    this.logger.level = levelFor(next);
    return this.get();
  }
}

function bad(key: string, what: string): InferError {
  return new InferError('IG_ERR_INVALID_ARG', `logging setting '${key}' must be ${what}`);
}

function levelFor(s: LogSettingsState): string {
  if (s.log_verbose_level > 0) return 'debug';
  if (s.log_info) return 'info';
  if (s.log_warning) return 'warn';
  if (s.log_error) return 'error';
  return 'silent';
}
