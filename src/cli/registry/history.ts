/**
 * `infergate registry history NAME`: which version each alias named, since when, who moved it and
 * why; `audit` the whole log; `verify` the log's hash chain (exit code 1 when it was tampered with).
 */
import type { Command } from 'commander';
import { InferError } from '../../core/index.js';
import type { AuditEntry } from '../../registry/types.js';
import { printJson, printVerdict, runWithRegistry, table, withRegistryOptions } from './context.js';

const brief = (v: unknown) => (v === undefined ? '-' : JSON.stringify(v));

function auditTable(rows: AuditEntry[]): string {
  return table(
    ['seq', 'at', 'actor', 'action', 'model', 'version', 'alias', 'before → after', 'reason'],
    rows.map((e) => [
      e.seq,
      e.at,
      e.actor,
      e.action,
      e.model,
      e.version ?? '',
      e.alias ?? '',
      `${brief(e.before)} → ${brief(e.after)}`,
      e.reason ?? '',
    ]),
  );
}

function int(v: string | undefined, what: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 0)
    throw new InferError('IG_ERR_INVALID_ARG', `${what} must be a non-negative integer`);
  return n;
}

export function registerHistory(registry: Command): void {
  withRegistryOptions(
    registry.command('history').description('alias moves of a model, oldest first').argument('<name>', 'model name'),
  ).action(async (name: string, _o, cmd: Command) =>
    runWithRegistry(cmd, async (r) => {
      const rows = await r.service.history(name);
      if (r.json) return printJson(rows);
      console.log(
        table(
          ['at', 'alias', 'version', 'was', 'by', 'reason'],
          rows.map((e) => [
            e.at,
            e.alias ?? '',
            e.action === 'alias.delete' ? '(removed)' : (e.version ?? ''),
            (e.before as { version?: number } | undefined)?.version ?? '-',
            e.actor,
            e.reason ?? '',
          ]),
        ),
      );
    }),
  );
  withRegistryOptions(
    registry
      .command('audit')
      .description('the audit log: every change, who made it, when, before → after')
      .option('--model <name>', 'only this model')
      .option('--after <seq>', 'only rows after this sequence number')
      .option('--limit <n>', 'at most this many rows'),
  ).action(async (flags: { model?: string; after?: string; limit?: string }, cmd: Command) =>
    runWithRegistry(cmd, async (r) => {
      const rows = await r.service.audit({
        model: flags.model,
        after: int(flags.after, '--after'),
        limit: int(flags.limit, '--limit'),
      });
      if (r.json) return printJson(rows);
      console.log(auditTable(rows));
    }),
  );
  withRegistryOptions(
    registry.command('verify').description('re-check the audit log hash chain; names edited, inserted or deleted rows'),
  ).action(async (_o, cmd: Command) =>
    runWithRegistry(cmd, async (r) => printVerdict(await r.service.verify(), r.json, 'audit log')),
  );
}
