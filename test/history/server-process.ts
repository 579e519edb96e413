// The real server as a child process on fixed ports, restartable on the same ports (what a load
// balancer's backend does across a rolling restart), with the test-only fault control of
// child-entry.ts on its IPC channel.
import { type ChildProcess, spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { freePort } from '../e2e/process.js';
import { signalAndWait } from '../harness/replica.js';
import type { HookCommand, HookEvent } from './child-entry.js';

export type { HookCommand, HookEvent };

export interface ServerProcessOptions {
  repo: string;
  /** Extra `infergate serve` arguments. */
  args: string[];
  env: Record<string, string>;
  /** Every hook event of every incarnation, in arrival order. */
  onEvent(e: HookEvent): void;
}

/** One server slot: ports chosen once, processes started and stopped on them. */
export class ServerSlot {
  child: ChildProcess | undefined;
  /** How many processes were started in this slot. */
  incarnations = 0;
  #log = '';
  #exited: Promise<number | null> = Promise.resolve(null);

  private constructor(
    readonly httpPort: number,
    readonly grpcPort: number,
    private readonly o: ServerProcessOptions,
  ) {}

  static async create(o: ServerProcessOptions): Promise<ServerSlot> {
    return new ServerSlot(await freePort(), await freePort(), o);
  }

  /** Everything every incarnation printed (the tail end, for failure messages). */
  log(): string {
    return this.#log;
  }

  /** Starts a process and resolves once it says it is ready (rejects if it exits or takes over `ms`). */
  async start(ms = 60_000): Promise<void> {
    const args = [
      '--import',
      'tsx',
      resolve('test/history/child-entry.ts'),
      'serve',
      this.o.repo,
      '--http-port',
      String(this.httpPort),
      '--grpc-port',
      String(this.grpcPort),
      '--metrics-port',
      '0',
      '--log-format',
      'json',
      // The fault control (child-entry.ts) addresses one instance's own thread; faults on the
      // shared pool's threads, which take their co-tenants along, are tested in ort-pool.test.ts.
      '--shared-workers',
      '0',
      ...this.o.args,
    ];
    const child = spawn(process.execPath, args, {
      env: { ...process.env, ...this.o.env },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    this.child = child;
    this.incarnations++;
    // This incarnation's recent output, to see its own ready line (a chunk may split it).
    let recent = '';
    const append = (d: Buffer) => {
      // Bounded: a 5-minute run must not keep every log line.
      this.#log = (this.#log + d.toString()).slice(-2_000_000);
      recent = (recent + d.toString()).slice(-10_000);
    };
    child.stdout?.on('data', append);
    child.stderr?.on('data', append);
    child.on('message', (m: HookEvent) => this.o.onEvent(m));
    this.#exited = new Promise((r) => child.once('exit', (code) => r(code)));
    let exited = false;
    void this.#exited.then(() => {
      exited = true;
    });
    for (let t = 0; t < ms; t += 50) {
      if (/infergate ready/.test(recent)) return;
      if (exited) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`server did not become ready:\n${this.#log.slice(-4000)}`);
  }

  /** Sends a fault command to the current process's control. */
  command(c: HookCommand): void {
    this.child?.send(c);
  }

  /** SIGTERM (the orchestrator's stop) and wait for the exit code; SIGKILL after `ms`. */
  async terminate(ms = 30_000): Promise<number | null> {
    return signalAndWait(this.child, this.#exited, 'SIGTERM', ms);
  }

  /** Last resort in `finally` blocks. */
  kill(): void {
    if (this.child !== undefined && this.child.exitCode === null) this.child.kill('SIGKILL');
  }
}
