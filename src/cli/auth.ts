/**
 * `infergate auth key create|list|revoke --file KEYS`: API keys for the server's `--api-keys`.
 * A new key is printed once; the file keeps only its prefix, a salt and a hash. And `infergate
 * audit verify --file F | --registry R`: re-checks the audit trail's hash chain.
 */
import type { Command } from 'commander';
import { ApiKeyStore, checkScopes } from '../auth/api-keys.js';
import { verifyAuditFile } from '../audit/file-log.js';
import { InferError } from '../core/index.js';
import { printJson, printVerdict, runWithRegistryAt, table } from './registry/context.js';

function fail(command: string, err: unknown): void {
  console.error(`infergate ${command}: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
}

/** `30d`, `12h`, `2026-12-31` → an ISO date; undefined when not given. */
export function expiryOf(v: string | undefined, now = Date.now()): string | undefined {
  if (v === undefined) return undefined;
  const m = /^([0-9]+)([dh])$/.exec(v);
  const ms = m ? Number(m[1]) * (m[2] === 'd' ? 86_400_000 : 3_600_000) : Date.parse(v) - now;
  if (!Number.isFinite(ms) || ms <= 0)
    throw new InferError('IG_ERR_INVALID_ARG', `--expires '${v}': use e.g. 30d, 12h or a future date`);
  return new Date(now + ms).toISOString();
}

export function registerAuthCommand(program: Command): void {
  const key = program
    .command('auth')
    .description('API keys for --api-keys')
    .command('key')
    .description('create, list and revoke API keys');
  key
    .command('create')
    .description('create a key; it is printed once and only its hash is stored')
    .requiredOption('--file <keys.json>', 'the key file the server reads (--api-keys)')
    .requiredOption('--name <name>', 'what the key is for (shown in lists)')
    .option('--scopes <list>', 'comma-separated: infer, read, admin', 'infer,read')
    .option('--tenant <tenant>', 'the tenant whose models the key may use')
    .option('--models <globs>', 'comma-separated model globs the key may use, e.g. fraud-*')
    .option('--expires <when>', 'expiry: 30d, 12h or a date')
    .option('--rate-limit <rate:burst>', 'its own inference rate limit')
    .option('--json', 'print JSON')
    .action((o: Record<string, string | boolean | undefined>) => {
      try {
        const store = new ApiKeyStore(o.file as string);
        const rl = typeof o.rateLimit === 'string' ? /^([0-9.]+):([0-9]+)$/.exec(o.rateLimit) : undefined;
        if (o.rateLimit !== undefined && !rl)
          throw new InferError('IG_ERR_INVALID_ARG', '--rate-limit must be RATE:BURST');
        const { key: secret, record } = store.create({
          name: o.name as string,
          scopes: checkScopes(
            String(o.scopes)
              .split(',')
              .map((s) => s.trim()),
          ),
          tenant: o.tenant as string | undefined,
          models: typeof o.models === 'string' ? o.models.split(',').map((s) => s.trim()) : undefined,
          expiresAt: expiryOf(o.expires as string | undefined),
          rateLimit: rl ? { rate: Number(rl[1]), burst: Number(rl[2]) } : undefined,
        });
        if (o.json)
          printJson({ key: secret, prefix: record.prefix, scopes: record.scopes, expiresAt: record.expiresAt });
        else {
          console.log(secret);
          console.error(`key ${record.prefix} (${record.scopes.join(', ')}) created; it is shown only now`);
        }
      } catch (err) {
        fail('auth key create', err);
      }
    });
  key
    .command('list')
    .description('list keys by prefix (never the secrets)')
    .requiredOption('--file <keys.json>', 'the key file')
    .option('--json', 'print JSON')
    .action((o: { file: string; json?: boolean }) => {
      try {
        const rows = new ApiKeyStore(o.file).list().map(({ salt: _s, hash: _h, ...k }) => k);
        if (o.json) return printJson(rows);
        const state = (k: (typeof rows)[number]) =>
          k.revokedAt ? 'revoked' : k.expiresAt && Date.parse(k.expiresAt) <= Date.now() ? 'expired' : 'active';
        console.log(
          table(
            ['prefix', 'name', 'scopes', 'tenant', 'models', 'expires', 'state'],
            rows.map((k) => [
              k.prefix,
              k.name,
              k.scopes.join(','),
              k.tenant ?? '',
              (k.models ?? []).join(','),
              k.expiresAt ?? '-',
              state(k),
            ]),
          ),
        );
      } catch (err) {
        fail('auth key list', err);
      }
    });
  key
    .command('revoke')
    .description('revoke a key (the server sees it within a second)')
    .argument('<prefix>', 'the key prefix (from list)')
    .requiredOption('--file <keys.json>', 'the key file')
    .action((prefix: string, o: { file: string }) => {
      try {
        const k = new ApiKeyStore(o.file).revoke(prefix);
        console.log(`key ${k.prefix} (${k.name}) revoked at ${k.revokedAt}`);
      } catch (err) {
        fail('auth key revoke', err);
      }
    });

  program
    .command('audit')
    .description('the security audit trail')
    .command('verify')
    .description('re-check the hash chain of an audit file (--file) or of the registry audit table (--registry)')
    .option('--file <audit.jsonl>', 'the server’s --audit-log file')
    .option('--registry <dir|url>', 'the registry whose audit table holds the trail')
    .option('--json', 'print JSON')
    .action(async (o: { file?: string; registry?: string; json?: boolean }) => {
      const report = (v: Parameters<typeof printVerdict>[0]) => printVerdict(v, o.json === true, 'audit trail');
      if (o.file) return report(await verifyAuditFile(o.file));
      await runWithRegistryAt({ registry: o.registry }, 'audit verify', async (r) => report(await r.service.verify()));
    });
}
