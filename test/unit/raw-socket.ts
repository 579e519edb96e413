import assert from 'node:assert/strict';
/**
 * A raw loopback TCP client for listener timeout tests: it writes exactly the bytes a slow or idle
 * client would (no HTTP client library would trickle a header), records what the server answered
 * and when the server ended the connection.
 */
import { connect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';

/** One raw connection. */
export interface RawClient {
  readonly socket: Socket;
  /** performance.now() just before connecting: no server timer can start earlier. */
  readonly startedAt: number;
  /** Everything the server sent so far. */
  received(): string;
  /** Resolves with the ms from startedAt when the server ends or resets the connection. */
  readonly closed: Promise<number>;
  /** Writes `bytes` one byte every `everyMs` until the connection closes (or the bytes run out). */
  trickle(bytes: string, everyMs: number): void;
  /** Resolves once the received text contains `text`. */
  waitFor(text: string): Promise<void>;
  destroy(): void;
}

/** Connects to 127.0.0.1:port; resolves once connected. */
export function rawConnect(port: number): Promise<RawClient> {
  const startedAt = performance.now();
  const socket = connect(port, '127.0.0.1');
  let text = '';
  const waiters: Array<{ text: string; resolve: () => void }> = [];
  let timer: NodeJS.Timeout | undefined;
  socket.setEncoding('latin1');
  socket.on('data', (chunk: string) => {
    text += chunk;
    for (const w of waiters.splice(0)) {
      if (text.includes(w.text)) w.resolve();
      else waiters.push(w);
    }
  });
  // A reset (the server destroying a socket with unread bytes) counts as closed too.
  socket.on('error', () => {});
  const closed = new Promise<number>((resolve) =>
    socket.once('close', () => {
      clearInterval(timer);
      resolve(performance.now() - startedAt);
    }),
  );
  const client: RawClient = {
    socket,
    startedAt,
    received: () => text,
    closed,
    trickle(bytes, everyMs) {
      let i = 0;
      timer = setInterval(() => {
        if (i >= bytes.length || socket.destroyed || !socket.writable) return clearInterval(timer);
        socket.write(bytes[i++]!);
      }, everyMs);
    },
    waitFor: (t) =>
      text.includes(t) ? Promise.resolve() : new Promise<void>((resolve) => waiters.push({ text: t, resolve })),
    destroy: () => {
      clearInterval(timer);
      socket.destroy();
    },
  };
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve(client));
    socket.once('error', reject);
  });
}

/**
 * Resolves with the ms (from the client's start) at which the server closed the connection, or
 * `undefined` if it was still open `boundMs` from now: a generous bound, never a speed measurement.
 */
export async function closedWithin(client: RawClient, boundMs: number): Promise<number | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), boundMs);
  });
  try {
    return await Promise.race([client.closed, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** A byte string that never finishes a header line or a body (for trickling). */
export const ENDLESS = 'a'.repeat(10_000);

/**
 * Sends the start of a request to `path` and then trickles header bytes forever; asserts the
 * server closes the socket after (not before) `headersMs`, within 5x, answering 408.
 */
export async function assertSlowlorisClosed(port: number, path: string, headersMs: number): Promise<void> {
  const c = await rawConnect(port);
  c.socket.write(`GET ${path} HTTP/1.1\r\nHost: x\r\nX-Slow: `);
  c.trickle(ENDLESS, 50);
  const at = await closedWithin(c, 5 * headersMs);
  c.destroy();
  assert.ok(at !== undefined, 'still open at 5x the header timeout');
  assert.ok(at >= headersMs - 50, `closed at ${at} ms, before the header timeout`);
  assert.match(c.received(), /^HTTP\/1\.1 408 /);
}
