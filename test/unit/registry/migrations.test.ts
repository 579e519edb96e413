// Versioned migrations: an older database is upgraded in place (data kept, the new step applied
// once, the recorded version moved); the older code then refuses the upgraded database.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { Kysely, SqliteDialect, sql } from 'kysely';
import { systemClock } from '../../../src/core/index.js';
import { MIGRATIONS, type Migration, migrate, type RegistryTables } from '../../../src/registry/schema.js';
import { openSqliteStore } from '../../../src/registry/sqlite.js';

test('an older registry database is upgraded in place, keeping its data', async () => {
  const file = join(mkdtempSync(join(tmpdir(), 'ig-migrate-')), 'registry.db');
  const store = await openSqliteStore(file, systemClock);
  await store.registerVersion({ model: 'm', sourceUri: 'file:///m', format: 'onnx', files: [] }, 'a');
  await store.close();

  // The next release adds a column; its migration runs on the old database.
  const next: Migration = {
    version: 3,
    async up(tx) {
      await tx.schema
        .alterTable('models')
        .addColumn('owner', 'text', (c) => c.notNull().defaultTo(''))
        .execute();
    },
  };
  const db = new Kysely<RegistryTables>({ dialect: new SqliteDialect({ database: new Database(file) }) });
  try {
    assert.deepEqual(await migrate(db, 'sqlite', [...MIGRATIONS, next]), { from: 2, to: 3 });
    assert.deepEqual(await migrate(db, 'sqlite', [...MIGRATIONS, next]), { from: 3, to: 3 }, 'applied once');
    const rows = await sql<{ name: string; owner: string }>`select name, owner from models`.execute(db);
    assert.deepEqual(rows.rows, [{ name: 'm', owner: '' }]);
  } finally {
    await db.destroy();
  }
  // This release's code now meets a newer database and refuses it, naming both versions.
  await assert.rejects(
    openSqliteStore(file, systemClock),
    /schema version 3, newer than this infergate understands \(2\)/,
  );
});
