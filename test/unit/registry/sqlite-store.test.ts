// The RegistryStore contract on the embedded SQLite store.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { openSqliteStore } from '../../../src/registry/sqlite.js';
import { fixedClock, registryStoreContract } from '../../contract/registry-store.contract.js';

registryStoreContract('SQLite', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ig-reg-sqlite-'));
  const file = join(dir, 'registry.db');
  const clock = fixedClock();
  const store = await openSqliteStore(file, clock);
  return {
    store,
    reopen: () => openSqliteStore(file, clock),
    exec: async (sql) => {
      const db = new Database(file);
      try {
        db.pragma('busy_timeout = 5000');
        db.exec(sql);
      } finally {
        db.close();
      }
    },
    notifies: false,
    cleanup: async () => {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});
