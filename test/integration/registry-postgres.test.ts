// The RegistryStore contract on a real PostgreSQL (started once per test run by
// scripts/run-tests.mjs; this file gets a database of its own).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import pg from 'pg';
import { openPostgresStore } from '../../src/registry/postgres.js';
import { fixedClock, registryStoreContract } from '../contract/registry-store.contract.js';
import { freshDatabase, MISSING_POSTGRES } from '../services/postgres.js';

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

test('replicas starting at once on an empty database create the schema once', async (t) => {
  const db = await freshDatabase();
  if (!db) return t.skip(MISSING_POSTGRES);
  try {
    const clock = fixedClock();
    const stores = await Promise.all([1, 2, 3, 4].map(() => openPostgresStore(db.url, clock)));
    assert.deepEqual(await Promise.all(stores.map((s) => s.revision())), [0, 0, 0, 0]);
    await Promise.all(stores.map((s) => s.close()));
  } finally {
    await db.drop();
  }
});
