// TLS and mTLS through the real server (reliability.md S21): HTTPS and gRPC over TLS with a
// throwaway CA; with client certificates required, the certificate's identity is the principal
// (auth config `mtls`), and a client without one never completes the handshake. Also: without
// auth, a caller that is not on loopback does not see the control surface at all (S13).
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { credentials, status as GrpcCode } from '@grpc/grpc-js';
import { request } from 'undici';
import { GrpcClient } from '../../src/client/grpc-client.js';
import { HttpClient } from '../../src/client/http-client.js';
import { makePki } from '../services/pki.js';
import { addConstModel, addModel, tempRepo } from './models.js';
import { startTestServer, type TestServer } from './server.js';

const pki = makePki();
const X = [{ name: 'x', datatype: 'FP32' as const, shape: [1, 4], data: new Float32Array(4) }];
const repo = tempRepo();
addModel(repo, 'm', 1, addConstModel(7), 'max_batch_size: 4\ninstance_group [{ count: 1 }]\n');
const server = { tlsCert: pki.p('server1.crt'), tlsKey: pki.p('server1.key') };

describe('TLS', () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer({ repository: repo, ...server });
  });
  after(() => s?.close());

  test('HTTPS and gRPC over TLS answer a client that trusts the CA; plaintext does not get through', async () => {
    const https = new HttpClient(`https://localhost:${s.server.httpPort}`, { tls: { ca: pki.pem('ca.crt') } });
    try {
      assert.equal(((await https.infer('m', X)).outputs[0]!.data as Float32Array)[0], 7);
    } finally {
      await https.close();
    }
    const g = new GrpcClient(`localhost:${s.server.grpcPort}`, {
      credentials: credentials.createSsl(pki.pem('ca.crt')),
    });
    try {
      assert.equal(((await g.infer('m', X)).outputs[0]!.data as Float32Array)[0], 7);
    } finally {
      g.close();
    }
    await assert.rejects(request(`http://127.0.0.1:${s.server.httpPort}/v2/health/live`).then((r) => r.body.text()));
  });
});

describe('mTLS: the client certificate is the principal', () => {
  let s: TestServer;
  before(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ig-mtls-'));
    writeFileSync(join(dir, 'auth.yaml'), 'mode: required\nmtls:\n  client-a: { scopes: [infer, read] }\n');
    s = await startTestServer({
      repository: repo,
      ...server,
      tlsCa: pki.p('ca.crt'),
      tlsRequireClientCert: true,
      authConfig: join(dir, 'auth.yaml'),
    });
  });
  after(() => s?.close());
  const tls = (name?: string) => ({
    ca: pki.pem('ca.crt'),
    ...(name ? { cert: pki.pem(`${name}.crt`), key: pki.pem(`${name}.key`) } : {}),
  });

  test('client-a infers and reads, is refused administration; no certificate or a foreign CA: no handshake', async () => {
    const a = new HttpClient(`https://localhost:${s.server.httpPort}`, { tls: tls('client') });
    try {
      assert.equal(((await a.infer('m', X)).outputs[0]!.data as Float32Array)[0], 7);
      await assert.rejects(
        a.json('POST', '/v2/repository/models/m/unload', {}),
        (e: { status?: number; message: string }) => {
          assert.equal(e.status, 403);
          assert.match(e.message, /the 'admin' scope is required/);
          return true;
        },
      );
    } finally {
      await a.close();
    }
    for (const who of [undefined, 'foreign', 'expired']) {
      const c = new HttpClient(`https://localhost:${s.server.httpPort}`, { tls: tls(who) });
      await assert.rejects(c.infer('m', X), who ?? 'no certificate');
      await c.close();
    }
    const g = new GrpcClient(`localhost:${s.server.grpcPort}`, {
      credentials: credentials.createSsl(pki.pem('ca.crt'), pki.pem('client.key'), pki.pem('client.crt')),
    });
    try {
      assert.equal(((await g.infer('m', X)).outputs[0]!.data as Float32Array)[0], 7);
    } finally {
      g.close();
    }
    const none = new GrpcClient(`localhost:${s.server.grpcPort}`, {
      credentials: credentials.createSsl(pki.pem('ca.crt')),
    });
    await assert.rejects(none.infer('m', X), (e: { code?: number }) => e.code === GrpcCode.UNAVAILABLE);
    none.close();
  });
});

test('auth off, listening on every interface: a non-loopback caller gets 404 for the control surface', async (t) => {
  const external = Object.values(networkInterfaces())
    .flat()
    .find((i) => i && i.family === 'IPv4' && !i.internal)?.address;
  if (!external) return t.skip('this machine has no non-loopback IPv4 address');
  const s = await startTestServer({ repository: repo, host: '0.0.0.0' });
  try {
    const at = (host: string, path: string, method = 'POST') =>
      request(`http://${host}:${s.server.httpPort}${path}`, {
        method: method as 'POST',
        body: method === 'POST' ? '{}' : undefined,
      }).then(async (r) => ({ status: r.statusCode, text: await r.body.text() }));
    const remote = await at(external, '/v2/repository/models/m/unload');
    assert.deepEqual(remote, { status: 404, text: '{"error":"Not Found"}' });
    assert.equal((await at(external, '/v2/logging', 'GET')).status, 200, 'reading log settings is not administration');
    assert.equal((await at(external, '/v2/logging')).status, 404);
    const infer = await new HttpClient(`http://${external}:${s.server.httpPort}`).infer('m', X);
    assert.equal((infer.outputs[0]!.data as Float32Array)[0], 7);
    assert.equal((await at('127.0.0.1', '/v2/repository/index')).status, 200, 'loopback may administer');
  } finally {
    await s.close();
  }
});
