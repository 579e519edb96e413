/**
 * The embedded store: one SQLite file (better-sqlite3), WAL so readers never wait for the
 * writer, a busy timeout so a CLI and a server sharing the file queue instead of failing.
 * Other processes' changes are seen by polling `revision()` (SQLite has no notifications).
 */
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import type { Clock } from '../core/index.js';
import { migrate, type RegistryTables, SchemaTooNewError } from './schema.js';
import { SqlRegistryStore } from './sql-store.js';
import { storeError } from './store-errors.js';

/** One chain of mutations per database file in this process (see SqlStoreOptions.exclusive). */
const chains = new Map<string, Promise<unknown>>();

function exclusiveOn(path: string) {
  return <T>(fn: () => Promise<T>): Promise<T> => {
    const run = (chains.get(path) ?? Promise.resolve()).then(fn, fn);
    const settled = run.catch(() => undefined);
    chains.set(path, settled);
    void settled.then(() => {
      if (chains.get(path) === settled) chains.delete(path);
    });
    return run;
  };
}

export async function openSqliteStore(file: string, clock: Clock): Promise<SqlRegistryStore> {
  const path = resolve(file);
  const location = `sqlite:${path}`;
  let database: Database.Database;
  try {
    mkdirSync(dirname(path), { recursive: true });
    database = new Database(path);
    database.pragma('journal_mode = WAL');
    database.pragma('busy_timeout = 5000');
    database.pragma('foreign_keys = ON');
    database.pragma('synchronous = NORMAL');
  } catch (err) {
    throw storeError(location, err);
  }
  const db = new Kysely<RegistryTables>({ dialect: new SqliteDialect({ database }) });
  try {
    await migrate(db, 'sqlite');
  } catch (err) {
    await db.destroy();
    throw err instanceof SchemaTooNewError ? err : storeError(location, err);
  }
  return new SqlRegistryStore({ db, dialect: 'sqlite', location, clock, exclusive: exclusiveOn(path) });
}
