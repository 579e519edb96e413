/**
 * The SQL store's shared pieces: row lookups used inside and outside transactions, the
 * compare-and-set check, and the audit appender that chains a transaction's rows.
 */
import type { Kysely, Transaction } from 'kysely';
import { InferError } from '../core/index.js';
import { type AuditBody, auditHash } from './audit-chain.js';
import { quoteName } from './names.js';
import { aliasRecord, auditRow, versionRecord } from './rows.js';
import type { RegistryTables } from './schema.js';
import type { AliasRecord, VersionRecord } from './types.js';

type Db = Kysely<RegistryTables>;
type Tx = Transaction<RegistryTables>;
export type Head = { seq: number; hash: string };

/** Collects a transaction's audit rows, chaining each to the one before. */
export class AuditAppender {
  readonly rows: RegistryTables['audit'][] = [];

  constructor(
    public head: Head,
    readonly at: string,
  ) {}

  append(entry: Omit<AuditBody, 'seq' | 'at'>): void {
    const body: AuditBody = { ...entry, seq: this.head.seq + 1, at: this.at };
    // Normalize through JSON so the hash covers exactly what is stored and read back.
    const stored = JSON.parse(JSON.stringify(body)) as AuditBody;
    const hash = auditHash(this.head.hash, stored);
    this.rows.push(auditRow(stored, this.head.hash, hash));
    this.head = { seq: body.seq, hash };
  }
}

export async function readHead(db: Db | Tx): Promise<Head> {
  const row = await db.selectFrom('meta').select('value').where('key', '=', 'audit_head').executeTakeFirstOrThrow();
  return JSON.parse(row.value) as Head;
}

export async function findVersion(db: Db | Tx, model: string, version: number): Promise<VersionRecord | undefined> {
  const row = await db
    .selectFrom('versions')
    .selectAll()
    .where('model', '=', model)
    .where('version', '=', version)
    .executeTakeFirst();
  return row && versionRecord(row);
}

export async function mustFindVersion(db: Db | Tx, model: string, version: number): Promise<VersionRecord> {
  const found = await findVersion(db, model, version);
  if (found) return found;
  const known = await db.selectFrom('models').select('name').where('name', '=', model).executeTakeFirst();
  throw new InferError(
    'IG_ERR_NOT_FOUND',
    known ? `model ${quoteName(model)} has no version ${version}` : `model ${quoteName(model)} is not in the registry`,
  );
}

export async function findAlias(db: Db | Tx, model: string, alias: string): Promise<AliasRecord | undefined> {
  const row = await db
    .selectFrom('aliases')
    .selectAll()
    .where('model', '=', model)
    .where('alias', '=', alias)
    .executeTakeFirst();
  return row && aliasRecord(row);
}

/** The compare in compare-and-set: the loser learns the current target. */
export function checkExpected(
  model: string,
  alias: string,
  current: AliasRecord | undefined,
  expected?: number | null,
) {
  if (expected === undefined) return;
  const now = current?.version ?? null;
  if (now === expected) return;
  const where = `alias ${quoteName(alias)} of model ${quoteName(model)}`;
  throw new InferError(
    'IG_ERR_CONFLICT',
    now === null
      ? `${where} does not exist (expected it to name version ${expected})`
      : `${where} names version ${now}, not ${expected === null ? 'nothing' : expected}: it was moved meanwhile`,
  );
}

export function merge<T>(base: Record<string, T>, patch?: Record<string, T | null>): Record<string, T> {
  const out = { ...base };
  for (const [k, v] of Object.entries(patch ?? {})) {
    if (v === null) delete out[k];
    else out[k] = v;
  }
  return out;
}
