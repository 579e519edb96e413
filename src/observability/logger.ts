import { pino, type Logger } from 'pino';

export type { Logger };

/** Log output style: JSON lines for machines, pretty for terminals. */
export type LogFormat = 'json' | 'pretty';

/** Creates the process logger. Request payloads are never logged. */
export function createLogger(options: { level?: string; format?: LogFormat; destination?: number } = {}): Logger {
  const level = options.level ?? 'info';
  if (options.format === 'pretty') {
    return pino({
      level,
      transport: {
        target: 'pino-pretty',
        options: {
          colorize: true,
          translateTime: 'HH:MM:ss.l',
          ignore: 'pid,hostname',
          hideObject: true,
          destination: options.destination ?? 1,
        },
      },
    });
  }
  return pino(
    { level, base: { service: 'infergate' } },
    pino.destination({ dest: options.destination ?? 1, sync: false }),
  );
}
