// Issue: one request must never cost gigabytes. A chunked body in 1-byte chunks used to cost
// ~390 MB of RSS per MiB (a Buffer object per chunk); routes that take no body read one anyway.
// Over a real loopback socket, raw HTTP/1.1 written by hand so the chunking is exactly ours.
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, describe, test } from 'node:test';
import { closeAll, setup } from './helpers.js';

after(closeAll);

/** `body` framed as chunked transfer encoding in chunks of `size` bytes. */
function chunked(body: Buffer, size = 1): Buffer {
  const parts: Buffer[] = [];
  for (let at = 0; at < body.byteLength; at += size) {
    const piece = body.subarray(at, at + size);
    parts.push(Buffer.from(`${piece.byteLength.toString(16)}\r\n`), piece, Buffer.from('\r\n'));
  }
  parts.push(Buffer.from('0\r\n\r\n'));
  return Buffer.concat(parts);
}
const oneByteChunks = (body: Buffer) => chunked(body, 1);

/** Sends one raw request and resolves with the status line and whether the server closed the socket. */
function rawRequest(port: number, head: string, body: Buffer): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let text = '';
    socket.on('data', (d) => {
      text += d.toString('latin1');
    });
    socket.on('error', (err) => {
      // The server may close while we still write a body it refused: what it answered counts.
      if (text === '') reject(err);
    });
    socket.on('close', () => resolve({ status: Number(text.slice(9, 12)), text }));
    socket.write(head);
    socket.end(body);
  });
}

const chunkedHead = (path: string) =>
  `POST ${path} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n`;

describe('request body memory', () => {
  /** RSS growth (bytes) while the server answers one raw request, and the answer. */
  async function measured(path: string, wire: Buffer) {
    const { server } = await setup();
    const port = await server.listen(0);
    const before = process.memoryUsage().rss;
    const res = await rawRequest(port, chunkedHead(path), wire);
    const grown = process.memoryUsage().rss - before;
    await server.close();
    return { res, grown };
  }

  // Valid JSON padded to 1 MiB: read whole, it is refused by the router (no inputs), not by the reader.
  const padded = Buffer.alloc(1 << 20, 0x20);
  padded.write('{"inputs":[]}', 0);

  test('1 MiB in 1-byte chunks is refused once the chunks are too many and too small; RSS grows < 20 MB', async () => {
    const { res, grown } = await measured('/v2/models/simple/infer', oneByteChunks(padded));
    assert.equal(res.status, 400, res.text.slice(0, 300));
    assert.match(res.text, /arrived in more than 16384 chunks averaging under 64 bytes; send it in larger chunks/);
    assert.ok(grown < 20 * 1024 * 1024, `RSS grew ${(grown / 1e6).toFixed(1)} MB for a 1 MiB body`);
  });

  test('1 MiB in 128-byte chunks is read whole into one buffer; RSS grows < 20 MB', async () => {
    const { res, grown } = await measured('/v2/models/simple/infer', chunked(padded, 128));
    assert.equal(res.status, 400, res.text.slice(0, 300));
    assert.match(res.text, /expected 1 inputs but got 0 inputs/);
    assert.ok(grown < 20 * 1024 * 1024, `RSS grew ${(grown / 1e6).toFixed(1)} MB for a 1 MiB body`);
  });

  test('a route that takes no body answers without reading it, and closes the connection', async () => {
    const { server } = await setup();
    const port = await server.listen(0);
    const res = await rawRequest(port, chunkedHead('/v2/health/live'), oneByteChunks(Buffer.alloc(256 << 10, 0x20)));
    assert.equal(res.status, 405);
    assert.match(res.text, /connection: close/i);
    const unknown = await rawRequest(port, chunkedHead('/v2/nothing/here'), oneByteChunks(Buffer.alloc(1024, 0x20)));
    assert.equal(unknown.status, 404);
    await server.close();
  });
});
