/**
 * A bound on the requests one HTTP/1.1 connection has in progress. A client that pipelines
 * thousands of requests on one socket would otherwise have them all parsed and dispatched at once
 * (10k pipelined requests pushed other clients' /v2/health/live p99 to 0.4–0.55 s). Past the bound
 * the connection's further requests wait for a slot, and the socket stops being read until the
 * connection is back under it, so TCP flow control pushes back on the client. Normal keep-alive
 * clients have one request per connection in flight and never wait.
 */
import type { Socket } from 'node:net';

interface Connection {
  active: number;
  waiting: Array<() => void>;
  paused: boolean;
}

export class PipelineLimiter {
  private readonly connections = new WeakMap<Socket, Connection>();

  constructor(private readonly perConnection: number) {}

  /** Resolves once `socket` has a free slot (undefined: at once, no promise made). */
  acquire(socket: Socket): Promise<void> | undefined {
    let c = this.connections.get(socket);
    if (c === undefined) {
      c = { active: 0, waiting: [], paused: false };
      this.connections.set(socket, c);
    }
    if (c.active < this.perConnection) {
      c.active++;
      return undefined;
    }
    if (!c.paused) {
      c.paused = true;
      socket.pause();
    }
    const conn = c;
    return new Promise<void>((resolve) => conn.waiting.push(resolve));
  }

  /** Frees the slot of a finished request, handing it to the next waiting one. */
  release(socket: Socket): void {
    const c = this.connections.get(socket);
    if (c === undefined) return;
    const next = c.waiting.shift();
    if (next) {
      next();
      return;
    }
    c.active--;
    if (c.paused && c.active < this.perConnection) {
      c.paused = false;
      socket.resume();
    }
  }
}
