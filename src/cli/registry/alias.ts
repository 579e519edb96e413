/**
 * `infergate registry alias NAME ALIAS VERSION` (compare-and-set with --expected), `--delete`,
 * and `infergate registry promote NAME VERSION [--to ALIAS]` (production by default). Protected
 * aliases only move to a version whose last validation passed, unless --force (audited).
 */
import type { Command } from 'commander';
import { InferError } from '../../core/index.js';
import { checkVersionNumber } from '../../registry/names.js';
import type { AliasRecord } from '../../registry/types.js';
import { printJson, type RegistryCli, runWithRegistry, withRegistryOptions } from './context.js';

interface MoveFlags {
  expected?: string;
  create?: boolean;
  force?: boolean;
  reason?: string;
  protected?: boolean;
  delete?: boolean;
  to?: string;
}

function expectedOf(flags: MoveFlags): number | null | undefined {
  if (flags.create && flags.expected !== undefined)
    throw new InferError('IG_ERR_INVALID_ARG', '--create and --expected exclude each other');
  if (flags.create) return null;
  return flags.expected === undefined ? undefined : checkVersionNumber(flags.expected);
}

function moveFlags(cmd: Command): Command {
  return cmd
    .option('--expected <version>', 'only move if the alias names this version now (else: conflict, nothing changes)')
    .option('--force', 'move a protected alias to a version that has not passed validation (recorded in the audit log)')
    .option('--reason <text>', 'why (recorded in the audit log)');
}

export function registerAlias(registry: Command): void {
  const alias = registry
    .command('alias')
    .description('point an alias at a version (compare-and-set with --expected), or remove it with --delete')
    .argument('<name>', 'model name')
    .argument('<alias>', 'alias, e.g. staging, champion')
    .argument('[version]', 'version number or another alias');
  moveFlags(withRegistryOptions(alias))
    .option('--create', 'only if the alias does not exist yet')
    .option('--protected', 'from now on the alias only moves to validated versions')
    .option('--delete', 'remove the alias')
    .action(async (name: string, aliasName: string, version: string | undefined, flags: MoveFlags, cmd: Command) =>
      runWithRegistry(cmd, async (r) => {
        if (flags.delete) {
          const expected = expectedOf(flags);
          await r.service.deleteAlias(name, aliasName, expected ?? undefined, r.actor, flags.reason);
          return r.json ? printJson({ deleted: aliasName }) : console.log(`alias ${aliasName} of ${name} removed`);
        }
        if (version === undefined)
          throw new InferError('IG_ERR_INVALID_ARG', 'give the version the alias should name (or --delete)');
        const rec = await r.service.setAlias(
          {
            model: name,
            alias: aliasName,
            version,
            expected: expectedOf(flags),
            force: flags.force,
            reason: flags.reason,
            protected: flags.protected,
          },
          r.actor,
        );
        report(r, rec);
      }),
    );
  const promote = registry
    .command('promote')
    .description('move production (or --to ALIAS) to a version that passed validation')
    .argument('<name>', 'model name')
    .argument('<version>', 'version number or alias (e.g. staging)');
  moveFlags(withRegistryOptions(promote))
    .option('--to <alias>', 'the alias to move', 'production')
    .action(async (name: string, version: string, flags: MoveFlags, cmd: Command) =>
      runWithRegistry(cmd, async (r) => {
        const rec = await r.service.promote(
          name,
          version,
          { to: flags.to, expected: expectedOf(flags), force: flags.force, reason: flags.reason },
          r.actor,
        );
        report(r, rec);
      }),
    );
}

function report(r: RegistryCli, rec: AliasRecord): void {
  if (r.json) printJson(rec);
  else console.log(`${rec.model}@${rec.alias} → version ${rec.version}${rec.protected ? ' (protected)' : ''}`);
}
