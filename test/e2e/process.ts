// `infergate serve` as a child process on free loopback ports, for lifecycle tests (signals, exit codes).
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { resolve } from 'node:path';

export function freePort(): Promise<number> {
  return new Promise((res) => {
    const srv = createServer().listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => res(port));
    });
  });
}

export interface ServerProcess {
  child: ChildProcess;
  httpPort: number;
  grpcPort: number;
  /** Everything the process printed so far. */
  log(): string;
  exited: Promise<number | null>;
  /** Resolves once the log matches `re` (rejects after `ms`). */
  waitForLog(re: RegExp, ms?: number): Promise<void>;
}

/** Spawns the server over `repo` with extra CLI arguments and environment. */
export async function spawnServer(repo: string, args: string[] = [], env: Record<string, string> = {}) {
  const [httpPort, grpcPort] = [await freePort(), await freePort()];
  const child = spawn(
    process.execPath,
    [
      resolve('bin/infergate.js'),
      'serve',
      repo,
      '--http-port',
      String(httpPort),
      '--grpc-port',
      String(grpcPort),
      '--metrics-port',
      '0',
      '--log-format',
      'json',
      ...args,
    ],
    { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let log = '';
  child.stdout.on('data', (d) => {
    log += d;
  });
  child.stderr.on('data', (d) => {
    log += d;
  });
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const waitForLog = async (re: RegExp, ms = 20_000) => {
    for (let t = 0; t < ms && !re.test(log); t += 50) await new Promise((r) => setTimeout(r, 50));
    if (!re.test(log)) throw new Error(`log never matched ${re}:\n${log}`);
  };
  const p: ServerProcess = { child, httpPort, grpcPort, log: () => log, exited, waitForLog };
  return p;
}
