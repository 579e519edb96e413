// A throwaway PostgreSQL for one test run (Debian's postgresql package): initdb in a temp dir,
// pg_ctl on a free loopback port, trust auth, fsync off. As root, the cluster is owned by the
// unprivileged 'nobody' (postgres refuses to run as root). Tests create their own databases in it.
//   import { startPostgres } from './postgres.mjs'; const pg = await startPostgres(); ... pg.stop()
//   node scripts/services/postgres.mjs   (starts one and prints its URL; Ctrl-C stops it)
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The newest installed PostgreSQL bin directory, or undefined. */
export function postgresBin() {
  const base = '/usr/lib/postgresql';
  if (!existsSync(base)) return undefined;
  const versions = readdirSync(base)
    .filter((v) => existsSync(join(base, v, 'bin', 'pg_ctl')))
    .sort((a, b) => Number(a) - Number(b));
  return versions.length ? join(base, versions.at(-1), 'bin') : undefined;
}

/** A loopback port free right now (the services bind it a moment later). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** Starts a cluster; resolves to { url, port, dir, stop() }. Throws naming the package when missing. */
export async function startPostgres() {
  const bin = postgresBin();
  if (!bin) throw new Error('PostgreSQL is not installed: apt-get install -y postgresql (Debian package)');
  const root = process.getuid?.() === 0;
  const dir = mkdtempSync(join(tmpdir(), 'infergate-pg-'));
  const data = join(dir, 'data');
  const sock = join(dir, 'sock');
  mkdirSync(data);
  mkdirSync(sock);
  const asPg = (cmd, args, opts = {}) =>
    root ? execFileSync('runuser', ['-u', 'nobody', '--', cmd, ...args], opts) : execFileSync(cmd, args, opts);
  if (root) {
    chmodSync(dir, 0o755);
    const nobody = Number(execFileSync('id', ['-u', 'nobody']).toString().trim());
    chownSync(data, nobody, -1);
    chownSync(sock, nobody, -1);
  }
  asPg(
    join(bin, 'initdb'),
    ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C.UTF-8', '--no-sync'],
    {
      stdio: 'ignore',
    },
  );
  const port = await freePort();
  const opts = `-c listen_addresses=127.0.0.1 -p ${port} -k ${sock} -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200`;
  asPg(join(bin, 'pg_ctl'), ['-D', data, '-l', join(sock, 'pg.log'), '-w', '-t', '60', '-o', opts, 'start'], {
    stdio: 'ignore',
  });
  const stop = () => {
    spawnSync(
      root ? 'runuser' : join(bin, 'pg_ctl'),
      [...(root ? ['-u', 'nobody', '--', join(bin, 'pg_ctl')] : []), '-D', data, '-m', 'immediate', '-w', 'stop'],
      {
        stdio: 'ignore',
      },
    );
    rmSync(dir, { recursive: true, force: true });
  };
  return { url: `postgres://postgres@127.0.0.1:${port}/postgres`, port, dir, stop };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const pg = await startPostgres();
  console.log(pg.url);
  const end = () => {
    pg.stop();
    process.exit(0);
  };
  process.on('SIGINT', end);
  process.on('SIGTERM', end);
  setInterval(() => undefined, 1 << 30);
}
