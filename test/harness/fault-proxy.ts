// A TCP fault proxy for reliability.md R8 (Redis killed, slow, blackholed, resetting): it listens on
// 127.0.0.1 and forwards to a target, and its mode decides what connections meet, open ones included,
// the moment it changes:
//   pass      — bytes flow both ways
//   latency   — every chunk, either way, is held `latencyMs` after it arrived (order kept)
//   blackhole — connections are accepted and read, nothing is delivered either way (the bytes wait,
//               as TCP retransmits would, and flow again if the mode returns to pass or latency)
//   reset     — every connection, open and new, is destroyed with a TCP RST
// "Killed" needs no mode: stop the target and the proxy closes each client whose upstream fails.
import { connect, createServer, type Server, type Socket } from 'node:net';

export type FaultMode = 'pass' | 'latency' | 'blackhole' | 'reset';

interface Chunk {
  data: Buffer;
  /** performance.now() when it arrived. */
  at: number;
}

/** One direction of one connection: chunks delivered in order, when the mode allows. */
class Pipe {
  private readonly queue: Chunk[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly to: Socket,
    private readonly proxy: FaultProxy,
  ) {}

  push(data: Buffer): void {
    this.queue.push({ data, at: performance.now() });
    this.pump();
  }

  /** Delivers what is due now and waits for the next one; called again on every mode change. */
  pump(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    for (;;) {
      const head = this.queue[0];
      const { mode, latencyMs } = this.proxy;
      if (!head || mode === 'blackhole' || mode === 'reset' || this.to.destroyed) return;
      const wait = head.at + (mode === 'latency' ? latencyMs : 0) - performance.now();
      if (wait > 0) {
        this.timer = setTimeout(() => this.pump(), wait);
        return;
      }
      this.queue.shift();
      this.to.write(head.data);
    }
  }

  stop(): void {
    clearTimeout(this.timer);
    this.queue.length = 0;
  }
}

interface Connection {
  client: Socket;
  upstream: Socket;
  pipes: Pipe[];
}

export class FaultProxy {
  mode: FaultMode = 'pass';
  latencyMs = 0;
  private readonly connections = new Set<Connection>();
  /** Connections accepted since start (a test can see that clients reconnected). */
  accepted = 0;

  private constructor(
    private readonly server: Server,
    private readonly target: { host: string; port: number },
  ) {}

  /** Starts a proxy to `target` on a free loopback port. */
  static async start(target: { host?: string; port: number }): Promise<FaultProxy> {
    const server = createServer();
    const proxy = new FaultProxy(server, { host: target.host ?? '127.0.0.1', port: target.port });
    server.on('connection', (client) => proxy.accept(client));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    return proxy;
  }

  get port(): number {
    return (this.server.address() as { port: number }).port;
  }

  /** Switches the fault; applies to open connections at once. */
  setMode(mode: FaultMode, latencyMs = this.latencyMs): void {
    this.mode = mode;
    this.latencyMs = latencyMs;
    for (const c of [...this.connections]) {
      if (mode === 'reset') this.drop(c, true);
      else for (const p of c.pipes) p.pump();
    }
  }

  async close(): Promise<void> {
    for (const c of [...this.connections]) this.drop(c, false);
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: Socket): void {
    this.accepted++;
    client.setNoDelay(true);
    if (this.mode === 'reset') {
      client.resetAndDestroy();
      return;
    }
    const upstream = connect(this.target);
    upstream.setNoDelay(true);
    const c: Connection = { client, upstream, pipes: [new Pipe(upstream, this), new Pipe(client, this)] };
    this.connections.add(c);
    client.on('data', (d: Buffer) => c.pipes[0]?.push(d));
    upstream.on('data', (d: Buffer) => c.pipes[1]?.push(d));
    // Either side gone (a killed target refuses or drops the connection): the other goes too.
    const end = () => this.drop(c, false);
    for (const s of [client, upstream]) {
      s.on('error', end);
      s.on('close', end);
    }
  }

  private drop(c: Connection, rst: boolean): void {
    if (!this.connections.delete(c)) return;
    for (const p of c.pipes) p.stop();
    for (const s of [c.client, c.upstream]) {
      if (s.destroyed) continue;
      if (rst) s.resetAndDestroy();
      else s.destroy();
    }
  }
}
