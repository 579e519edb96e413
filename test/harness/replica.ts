// One infergate replica behind the local LB: `infergate serve` as a child process on ports chosen
// once, so a restart comes back on the same endpoint (a pod replaced under the same Service name).
import { type ChildProcess, spawn } from 'node:child_process';
import { request } from 'node:http';
import { resolve } from 'node:path';
import { freePort } from '../e2e/process.js';

/** Status of GET `path` on a fresh connection (0 when nothing answers): probes must not keep sockets. */
export function probe(port: number, path: string): Promise<number> {
  return new Promise((res) => {
    const req = request({ host: '127.0.0.1', port, path, agent: false, timeout: 2000 }, (r) => {
      r.resume();
      res(r.statusCode ?? 0);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => res(0));
    req.end();
  });
}

export class Replica {
  child: ChildProcess | undefined;
  #log = '';
  #exited: Promise<number | null> = Promise.resolve(null);

  private constructor(
    readonly name: string,
    readonly httpPort: number,
    readonly grpcPort: number,
    private readonly args: string[],
  ) {}

  /** `args`: the repository and extra `infergate serve` options. */
  static async create(name: string, args: string[]): Promise<Replica> {
    return new Replica(name, await freePort(), await freePort(), args);
  }

  get endpoint(): string {
    return `127.0.0.1:${this.httpPort}`;
  }

  /** The tail of what every incarnation printed, for failure messages. */
  log(): string {
    return this.#log.slice(-4000);
  }

  /** Starts a process and resolves once /v2/health/ready is 200 (models loaded); rejects if it exits first. */
  async start(ms = 60_000): Promise<void> {
    const ports = ['--http-port', `${this.httpPort}`, '--grpc-port', `${this.grpcPort}`, '--metrics-port', '0'];
    const child = spawn(process.execPath, [resolve('bin/infergate.js'), 'serve', ...this.args, ...ports], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    const append = (d: Buffer) => {
      this.#log = (this.#log + d.toString()).slice(-100_000);
    };
    child.stdout?.on('data', append);
    child.stderr?.on('data', append);
    this.#exited = new Promise((r) => child.once('exit', (code) => r(code)));
    for (const until = Date.now() + ms; Date.now() < until; await new Promise((r) => setTimeout(r, 50))) {
      if (child.exitCode !== null) break;
      if ((await probe(this.httpPort, '/v2/health/ready')) === 200) return;
    }
    child.kill('SIGKILL');
    throw new Error(`${this.name} did not become ready:\n${this.log()}`);
  }

  /** Sends `signal` and resolves the exit code; SIGKILL (and a null code) after `ms`. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', ms = 30_000): Promise<number | null> {
    return signalAndWait(this.child, this.#exited, signal, ms);
  }

  /** Last resort in `finally` blocks. */
  kill(): void {
    if (this.child !== undefined && this.child.exitCode === null) this.child.kill('SIGKILL');
  }
}

/** Sends `signal` to a server process and resolves its exit code; SIGKILL (and a null code) after `ms`. */
export async function signalAndWait(
  child: ChildProcess | undefined,
  exited: Promise<number | null>,
  signal: NodeJS.Signals,
  ms: number,
): Promise<number | null> {
  if (child === undefined || child.exitCode !== null || child.signalCode !== null) return child?.exitCode ?? null;
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), ms);
  try {
    return await exited;
  } finally {
    clearTimeout(timer);
  }
}
