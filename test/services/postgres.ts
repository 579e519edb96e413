// A fresh PostgreSQL database per test file, inside the server that scripts/run-tests.mjs started
// once for the whole run (INFERGATE_TEST_PG_URL). Run alone (no such variable), a file starts its
// own server. Missing PostgreSQL fails the test under CI=true and skips it otherwise, naming the package.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
// @ts-expect-error a plain .mjs helper shared with the test runner
import { postgresBin, startPostgres } from '../../scripts/services/postgres.mjs';

export interface TestDatabase {
  url: string;
  /** The server's admin URL (to create more databases). */
  adminUrl: string;
  drop(): Promise<void>;
}

export const MISSING_POSTGRES = 'PostgreSQL is not installed: apt-get install -y postgresql';

let own: Promise<{ url: string; stop(): void }> | undefined;

async function adminUrl(): Promise<string | undefined> {
  if (process.env.INFERGATE_TEST_PG_URL) return process.env.INFERGATE_TEST_PG_URL;
  if (!postgresBin()) return undefined;
  const started: Promise<{ url: string; stop(): void }> =
    own ??
    startPostgres().then((p: { url: string; stop(): void }) => {
      process.once('exit', () => p.stop());
      return p;
    });
  own = started;
  return (await started).url;
}

/**
 * Creates an empty database. PostgreSQL missing: throws under CI=true, else answers undefined
 * (the caller skips, saying why: {@link MISSING_POSTGRES}).
 */
export async function freshDatabase(): Promise<TestDatabase | undefined> {
  const admin = await adminUrl();
  if (!admin) {
    if (process.env.CI === 'true') throw new Error(MISSING_POSTGRES);
    return undefined;
  }
  const name = `ig_${randomBytes(6).toString('hex')}`;
  await query(admin, `CREATE DATABASE ${name}`);
  const url = new URL(admin);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    adminUrl: admin,
    drop: () => query(admin, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`),
  };
}

async function query(url: string, text: string): Promise<void> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    await c.query(text);
  } finally {
    await c.end();
  }
}
