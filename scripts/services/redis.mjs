// A throwaway Redis for one test run (Debian's redis-server 7): a temp dir, a free loopback port,
// no persistence (no RDB, no AOF), settings in a 0600 config file so a password never shows in
// `ps`. Tests use their own key prefixes in it.
//   import { startRedis } from './redis.mjs'; const r = await startRedis(); ... await r.stop()
//   node scripts/services/redis.mjs   (starts one and prints its URL; Ctrl-C stops it)
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './postgres.mjs';

export const MISSING_REDIS = 'Redis is not installed: apt-get install -y redis-server (Debian package)';

/** The redis-server binary on PATH, or undefined. */
export function redisBin() {
  try {
    return execFileSync('sh', ['-c', 'command -v redis-server'], { stdio: ['ignore', 'pipe', 'ignore'] })
      .toString()
      .trim();
  } catch {
    return undefined;
  }
}

/**
 * Starts a server; resolves to { url, port, dir, pid, exited, stop() }. `port` reuses a port (a
 * restart test); `password` sets requirepass (the URL then carries it). stop() kills it at once
 * (nothing to flush) and resolves when it has exited and the port is free again.
 */
export async function startRedis({ port, password } = {}) {
  const bin = redisBin();
  if (!bin) throw new Error(MISSING_REDIS);
  const dir = mkdtempSync(join(tmpdir(), 'infergate-redis-'));
  const p = port ?? (await freePort());
  const conf = [
    'bind 127.0.0.1',
    `port ${p}`,
    `dir ${dir}`,
    'save ""',
    'appendonly no',
    'daemonize no',
    'protected-mode yes',
    `logfile ${join(dir, 'redis.log')}`,
    ...(password ? [`requirepass "${password.replace(/[\\"]/g, (c) => `\\${c}`)}"`] : []),
  ].join('\n');
  writeFileSync(join(dir, 'redis.conf'), `${conf}\n`, { mode: 0o600 });
  const child = spawn(bin, [join(dir, 'redis.conf')], { stdio: 'ignore' });
  // The runner and test files exit on their own; a live child handle would keep them running.
  child.unref();
  const exited = new Promise((resolve) => child.once('exit', () => resolve(undefined)));
  let failed;
  child.once('error', (err) => {
    failed = err;
  });
  // Synchronous effects (the runner calls it just before process.exit); the promise is for
  // callers that restart on the same port and must wait for it to be released.
  const stop = () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.ref(); // keeps an awaiting caller alive until the exit is seen
      child.kill('SIGKILL');
    }
    rmSync(dir, { recursive: true, force: true });
    return exited;
  };
  const deadline = Date.now() + 10_000;
  while (!(await answers(p))) {
    if (failed || child.exitCode !== null || Date.now() > deadline) {
      stop();
      throw new Error(`redis-server did not start on port ${p}${failed ? `: ${failed.message}` : ''}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  const auth = password ? `:${encodeURIComponent(password)}@` : '';
  return { url: `redis://${auth}127.0.0.1:${p}`, port: p, dir, pid: child.pid, exited, stop };
}

/** Whether a Redis answers PING on the port (NOAUTH counts: the server is up, it wants a password). */
function answers(port) {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    const done = (ok) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(1000, () => done(false));
    s.once('error', () => done(false));
    s.once('connect', () => s.write('PING\r\n'));
    s.once('data', (d) => done(/^(\+PONG|-NOAUTH)/.test(d.toString())));
  });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const r = await startRedis();
  console.log(r.url);
  const end = () => {
    r.stop();
    process.exit(0);
  };
  process.on('SIGINT', end);
  process.on('SIGTERM', end);
  setInterval(() => undefined, 1 << 30);
}
