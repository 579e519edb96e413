// The RegistryStore contract on a real PostgreSQL (started once per test run by
// scripts/run-tests.mjs; this file gets a database of its own).
import pg from 'pg';
import { openPostgresStore } from '../../src/registry/postgres.js';
import { fixedClock, registryStoreContract } from '../contract/registry-store.contract.js';
import { freshDatabase } from '../services/postgres.js';

registryStoreContract('PostgreSQL', async () => {
  const db = await freshDatabase();
  if (!db) return undefined;
  const clock = fixedClock();
  const store = await openPostgresStore(db.url, clock);
  return {
    store,
    reopen: () => openPostgresStore(db.url, clock),
    exec: async (sql) => {
      const c = new pg.Client({ connectionString: db.url });
      await c.connect();
      try {
        await c.query(sql);
      } finally {
        await c.end();
      }
    },
    notifies: true,
    cleanup: async () => {
      await store.close();
      await db.drop();
    },
  };
});
