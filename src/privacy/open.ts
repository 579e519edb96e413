/**
 * Privacy's part of the composition root: the payload log when `--payload-log-dir` is set (models
 * opt in through their config parameters, settings.ts), and nothing at all without it, whatever a
 * model asks: the start-up log says which, in one line.
 */
import { resolve } from 'node:path';
import type { AuditSink } from '../audit/types.js';
import type { Logger } from '../observability/logger.js';
import type { Hooks } from '../router/hooks.js';
import { PayloadLog } from './payload-log.js';
import { payloadLogSettings } from './settings.js';

/** What privacy reads of the repository: served models and their config parameters. */
export interface ServedModels {
  index(readyOnly: boolean): ReadonlyArray<{ name: string }>;
  readyVersions(model: string): ReadonlyArray<{ spec: { execution: { parameters: Record<string, string> } } }>;
}

export interface PrivacyOptions {
  payloadLogDir?: string;
  /** Records waiting to be written before calls stop being logged (PayloadLogOptions.maxBacklog). */
  payloadLogMaxBacklog?: number;
}

export interface Privacy {
  /** Present only with a payload-log directory. */
  readonly payloadLog: PayloadLog | undefined;
  /** Once the startup models are loaded: the start-up line, the first retention sweep and its timer. */
  start(): void;
  /** Writes what is still queued. */
  close(): Promise<void>;
}

export function openPrivacy(
  o: PrivacyOptions,
  deps: { hooks: Hooks; models: ServedModels; audit: AuditSink; logger: Logger },
): Privacy {
  const parametersOf = (model: string) => deps.models.readyVersions(model)[0]?.spec.execution.parameters;
  const dir = o.payloadLogDir === undefined ? undefined : resolve(o.payloadLogDir);
  const payloadLog =
    dir === undefined
      ? undefined
      : new PayloadLog({
          dir,
          maxBacklog: o.payloadLogMaxBacklog,
          parametersOf,
          audit: deps.audit,
          logger: deps.logger,
        });
  payloadLog?.install(deps.hooks);
  return {
    payloadLog,
    start() {
      const asking = [...new Set(deps.models.index(true).map((e) => e.name))].filter((m) => {
        const p = parametersOf(m);
        return p !== undefined && typeof payloadLogSettings(p) === 'object';
      });
      const names = asking.join(', ');
      if (payloadLog) {
        deps.logger.info(
          { payloadLogDir: dir, models: asking },
          `payload logging to ${dir}: ${names || 'no served model asks for it (payload_log_sample)'}`,
        );
        payloadLog.start();
      } else if (asking.length > 0)
        deps.logger.warn(
          { models: asking },
          `payload logging is off (no --payload-log-dir): ${names} ask for it (payload_log_sample) and log nothing`,
        );
      else deps.logger.info('payload logging off (--payload-log-dir not set)');
    },
    close: async () => payloadLog?.close(),
  };
}
