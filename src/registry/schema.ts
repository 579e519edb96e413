/**
 * The registry's tables and their versioned migrations, one list for SQLite and PostgreSQL
 * (portable column types: text, integer; JSON kept as text; booleans as 0/1).
 *
 * `migrate()` runs on every open: an older database is upgraded in place inside one transaction
 * (serialized between processes: a PostgreSQL advisory lock, SQLite's write lock), a newer one is
 * refused with a message naming both versions, so an old binary never writes a schema it does not
 * understand. Append a migration to MIGRATIONS; never edit a released one.
 */
import { type Kysely, sql, type Transaction } from 'kysely';

/** Row types as stored. */
export interface RegistryTables {
  meta: { key: string; value: string };
  models: { name: string; created_at: string; created_by: string; description: string };
  versions: {
    model: string;
    version: number;
    source_uri: string;
    format: string;
    signature: string | null;
    files: string;
    config: string | null;
    created_at: string;
    created_by: string;
    tags: string;
    metrics: string;
    lineage: string;
    pinned: number;
    validation: string | null;
  };
  aliases: {
    model: string;
    alias: string;
    version: number;
    protected: number;
    updated_at: string;
    updated_by: string;
  };
  traffic: { model: string; policy: string; updated_at: string; updated_by: string };
  rollouts: { model: string; id: string; seq: number; state: string; updated_at: string };
  observations: { model: string; replica: string; data: string; updated_at: string };
  leases: { name: string; holder: string; expires_at: number };
  audit: {
    seq: number;
    at: string;
    actor: string;
    action: string;
    model: string;
    version: number | null;
    alias: string | null;
    before: string | null;
    after: string | null;
    reason: string | null;
    prev_hash: string;
    hash: string;
  };
}

export type Dialect = 'sqlite' | 'postgres';
type Db = Kysely<RegistryTables>;
type Tx = Transaction<RegistryTables>;

/** One schema step; `version` is the schema version after it. */
export interface Migration {
  version: number;
  up(tx: Tx): Promise<void>;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    async up(tx) {
      await tx.schema
        .createTable('models')
        .addColumn('name', 'text', (c) => c.primaryKey())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('created_by', 'text', (c) => c.notNull())
        .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
        .execute();
      await tx.schema
        .createTable('versions')
        .addColumn('model', 'text', (c) => c.notNull().references('models.name'))
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('source_uri', 'text', (c) => c.notNull())
        .addColumn('format', 'text', (c) => c.notNull())
        .addColumn('signature', 'text')
        .addColumn('files', 'text', (c) => c.notNull())
        .addColumn('config', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('created_by', 'text', (c) => c.notNull())
        .addColumn('tags', 'text', (c) => c.notNull())
        .addColumn('metrics', 'text', (c) => c.notNull())
        .addColumn('lineage', 'text', (c) => c.notNull())
        .addColumn('pinned', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('validation', 'text')
        .addPrimaryKeyConstraint('versions_pk', ['model', 'version'])
        .execute();
      await tx.schema
        .createTable('aliases')
        .addColumn('model', 'text', (c) => c.notNull())
        .addColumn('alias', 'text', (c) => c.notNull())
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('protected', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addColumn('updated_by', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('aliases_pk', ['model', 'alias'])
        .addForeignKeyConstraint('aliases_version_fk', ['model', 'version'], 'versions', ['model', 'version'])
        .execute();
      await tx.schema
        .createTable('audit')
        .addColumn('seq', 'integer', (c) => c.primaryKey())
        .addColumn('at', 'text', (c) => c.notNull())
        .addColumn('actor', 'text', (c) => c.notNull())
        .addColumn('action', 'text', (c) => c.notNull())
        .addColumn('model', 'text', (c) => c.notNull())
        .addColumn('version', 'integer')
        .addColumn('alias', 'text')
        .addColumn('before', 'text')
        .addColumn('after', 'text')
        .addColumn('reason', 'text')
        .addColumn('prev_hash', 'text', (c) => c.notNull())
        .addColumn('hash', 'text', (c) => c.notNull())
        .execute();
      await tx.schema.createIndex('audit_model').on('audit').columns(['model', 'seq']).execute();
      await tx
        .insertInto('meta')
        .values({ key: 'audit_head', value: JSON.stringify({ seq: 0, hash: '0'.repeat(64) }) })
        .execute();
    },
  },
  {
    // Rollouts (#13): traffic policies, rollout state, per-replica observations, leader leases.
    version: 2,
    async up(tx) {
      await tx.schema
        .createTable('traffic')
        .addColumn('model', 'text', (c) => c.primaryKey())
        .addColumn('policy', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addColumn('updated_by', 'text', (c) => c.notNull())
        .execute();
      await tx.schema
        .createTable('rollouts')
        .addColumn('model', 'text', (c) => c.primaryKey())
        .addColumn('id', 'text', (c) => c.notNull())
        .addColumn('seq', 'integer', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
      await tx.schema
        .createTable('observations')
        .addColumn('model', 'text', (c) => c.notNull())
        .addColumn('replica', 'text', (c) => c.notNull())
        .addColumn('data', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('observations_pk', ['model', 'replica'])
        .execute();
      await tx.schema
        .createTable('leases')
        .addColumn('name', 'text', (c) => c.primaryKey())
        .addColumn('holder', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .execute();
    },
  },
];

/** The schema version this code writes. */
export const SCHEMA_VERSION = MIGRATIONS.at(-1)?.version ?? 0;

/** Thrown when the database was written by a newer infergate. */
export class SchemaTooNewError extends Error {
  override name = 'SchemaTooNewError';
}

/**
 * Creates or upgrades the schema; refuses a newer one. Returns the version found and the version
 * now. `migrations` is the code's list (tests pass a longer one to exercise an upgrade).
 */
export async function migrate(
  db: Db,
  dialect: Dialect,
  migrations: readonly Migration[] = MIGRATIONS,
): Promise<{ from: number; to: number }> {
  const target = migrations.at(-1)?.version ?? 0;
  const createMeta = (q: Db | Tx) =>
    q.schema
      .createTable('meta')
      .ifNotExists()
      .addColumn('key', 'text', (c) => c.primaryKey())
      .addColumn('value', 'text', (c) => c.notNull())
      .execute();
  // SQLite serializes DDL by itself; two PostgreSQL replicas creating the same table at once
  // collide in the catalog, so there the table is created under the lock.
  if (dialect === 'sqlite') await createMeta(db);
  return db.transaction().execute(async (tx) => {
    // One migrator at a time across processes; the loser then sees the upgraded version.
    if (dialect === 'postgres') {
      await sql`select pg_advisory_xact_lock(7460192311)`.execute(tx);
      await createMeta(tx);
    } else
      await tx
        .insertInto('meta')
        .values({ key: 'schema_lock', value: '' })
        .onConflict((oc) => oc.column('key').doNothing())
        .execute();
    const row = await tx.selectFrom('meta').select('value').where('key', '=', 'schema_version').executeTakeFirst();
    const from = row ? Number(row.value) : 0;
    if (from > target)
      throw new SchemaTooNewError(
        `the registry database has schema version ${from}, newer than this infergate understands (${target}); upgrade infergate`,
      );
    for (const m of migrations) if (m.version > from) await m.up(tx);
    if (from !== target)
      await tx
        .insertInto('meta')
        .values({ key: 'schema_version', value: String(target) })
        .onConflict((oc) => oc.column('key').doUpdateSet({ value: String(target) }))
        .execute();
    return { from, to: target };
  });
}
