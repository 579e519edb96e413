// TLS policy, mTLS and certificate rotation on loopback (reliability.md S21), against a throwaway
// CA that openssl builds in a temp dir. Refusals are shown to come from the server: the same client
// settings succeed against a permissive control server.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import * as tls from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import { after, before, describe, it } from 'node:test';
import {
  certificateIdentity,
  grpcServerCredentials,
  httpsOptions,
  peerCertificateOf,
  TLS_POLICY,
  type TlsFiles,
  TlsReloader,
  toPeerCertificate,
} from '../../../src/protocol/common/tls.js';
import { makePki, SPIFFE } from '../../services/pki.js';

const pki = makePki();
const { dir, p, pem } = pki;
after(() => rmSync(dir, { recursive: true, force: true }));

const SERVER1 = { cert: p('server1.crt'), key: p('server1.key') };
const files = (extra: Partial<TlsFiles> = {}): TlsFiles => ({ ...SERVER1, ...extra });

async function listen(server: tls.Server | https.Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}
const closeServer = (s: tls.Server) => new Promise<void>((resolve) => s.close(() => resolve()));

type Hs = { ok: true; protocol: string; cipher: string; fingerprint: string } | { ok: false; error: string };
/** One handshake (no client certificate involved: TLS 1.3 reports client-cert refusals only later). */
function handshake(port: number, opts: tls.ConnectionOptions = {}): Promise<Hs> {
  return new Promise((resolve) => {
    const s = tls.connect({ host: '127.0.0.1', port, ca: pem('ca.crt'), ...opts });
    s.setTimeout(3000, () => s.destroy(new Error('timeout')));
    s.once('secureConnect', () => {
      const c = s.getPeerCertificate();
      resolve({ ok: true, protocol: s.getProtocol() ?? '', cipher: s.getCipher().name, fingerprint: c.fingerprint256 });
      s.destroy();
    });
    s.once('error', (e) => resolve({ ok: false, error: e.message }));
  });
}
// Client settings that can speak TLS 1.1 and legacy suites (OpenSSL 3 needs security level 0).
const TLS11 = { minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT:@SECLEVEL=0' } as const;
const legacy12 = (cipher: string) => ({ maxVersion: 'TLSv1.2', ciphers: `${cipher}:@SECLEVEL=0` }) as const;

/** `openssl s_client` on loopback, spawned (the servers run in this process); its protocol and cipher. */
function sClient(port: number, args: string[]): Promise<string> {
  return new Promise((resolve) => {
    const c = spawn('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, '-CAfile', p('ca.crt'), ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    c.stdout.on('data', (d) => (out += d));
    const t = setTimeout(() => c.kill(), 5000);
    c.on('close', () => {
      clearTimeout(t);
      // "New, <cipher's version>, Cipher is X"; the negotiated version is in the session block, which
      // a TLS 1.3 client closing at once may not print.
      const m = out.match(/New, (\S+), Cipher is (\S+)/);
      const proto = out.match(/Protocol *: *(\S+)/)?.[1] ?? m?.[1];
      resolve(m ? `${proto} ${m[2]}` : 'no session');
    });
  });
}

describe('TLS policy (HTTPS listener)', () => {
  let port: number;
  let control: number;
  const servers: tls.Server[] = [];
  before(async () => {
    const s = https.createServer(httpsOptions(files()), (_req, res) => res.end('ok'));
    const c = tls.createServer({ ...httpsOptions(files()), minVersion: 'TLSv1', ciphers: 'ALL:@SECLEVEL=0' });
    c.on('secureConnection', (sock) => sock.end());
    servers.push(s, c);
    port = await listen(s);
    control = await listen(c);
  });
  after(() => Promise.all(servers.map(closeServer)));

  it('accepts TLS 1.2 with ECDHE + AEAD suites and TLS 1.3', async () => {
    const aead = ['ECDHE-RSA-AES128-GCM-SHA256', 'ECDHE-RSA-AES256-GCM-SHA384', 'ECDHE-RSA-CHACHA20-POLY1305'];
    for (const cipher of aead) {
      const r = await handshake(port, { maxVersion: 'TLSv1.2', ciphers: cipher });
      assert.ok(r.ok && r.protocol === 'TLSv1.2' && r.cipher === cipher, `${cipher}: ${JSON.stringify(r)}`);
    }
    const r13 = await handshake(port, { minVersion: 'TLSv1.3' });
    assert.ok(r13.ok && r13.protocol === 'TLSv1.3', JSON.stringify(r13));
    // A client offering everything up to 1.2 gets an AEAD suite of the policy.
    const any12 = await handshake(port, legacy12('ALL'));
    assert.ok(any12.ok && TLS_POLICY.ciphers.split(':').includes(any12.cipher), JSON.stringify(any12));
  });

  it('refuses TLS 1.1 and TLS 1.2 suites without ECDHE or AEAD (the control server accepts them)', async () => {
    const cases: Array<[string, tls.ConnectionOptions]> = [
      ['TLSv1.1', TLS11],
      ['ECDHE-RSA-AES128-SHA256', legacy12('ECDHE-RSA-AES128-SHA256')],
      ['ECDHE-RSA-AES128-SHA', legacy12('ECDHE-RSA-AES128-SHA')],
      ['AES128-SHA', legacy12('AES128-SHA')],
      ['AES128-GCM-SHA256 (no forward secrecy)', legacy12('AES128-GCM-SHA256')],
    ];
    for (const [name, opts] of cases) {
      assert.equal((await handshake(control, opts)).ok, true, `control accepts ${name}`);
      const r = await handshake(port, opts);
      assert.equal(r.ok, false, `policy refuses ${name}: ${JSON.stringify(r)}`);
    }
  });

  it('openssl s_client: -tls1_1 and -cipher AES128-SHA -tls1_2 fail, 1.2 AEAD and 1.3 succeed', async () => {
    const legacy = ['-cipher', 'DEFAULT@SECLEVEL=0'];
    assert.match(await sClient(control, ['-tls1_1', ...legacy]), /^TLSv1\.1 [A-Z]/);
    assert.match(await sClient(port, ['-tls1_1', ...legacy]), / \(NONE\)$|^no session$/);
    assert.equal(await sClient(control, ['-tls1_2', '-cipher', 'AES128-SHA@SECLEVEL=0']), 'TLSv1.2 AES128-SHA');
    assert.match(await sClient(port, ['-tls1_2', '-cipher', 'AES128-SHA@SECLEVEL=0']), / \(NONE\)$|^no session$/);
    const gcm = 'ECDHE-RSA-AES128-GCM-SHA256';
    assert.equal(await sClient(port, ['-tls1_2', '-cipher', gcm]), `TLSv1.2 ${gcm}`);
    assert.match(await sClient(port, ['-tls1_3']), /^TLSv1\.3 TLS_/);
  });
});

/** GET / over HTTPS with an optional client certificate: the identity the server saw, or the error. */
function whoami(port: number, client?: string): Promise<string> {
  return new Promise((resolve) => {
    const cert = client ? { cert: pem(`${client}.crt`), key: pem(`${client}.key`) } : {};
    const req = https.get({ host: '127.0.0.1', port, path: '/', ca: pem('ca.crt'), agent: false, ...cert }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve(body));
    });
    req.on('error', (e) => resolve(`error: ${e.message}`));
  });
}
function identityServer(f: TlsFiles) {
  return https.createServer(httpsOptions(f), (req, res) => {
    const pc = peerCertificateOf(req.socket as tls.TLSSocket);
    res.end(pc ? `id=${certificateIdentity(pc)}` : 'anonymous');
  });
}

describe('mTLS (HTTPS listener)', () => {
  const servers: https.Server[] = [];
  after(() => Promise.all(servers.map(closeServer)));

  it('requireClientCert: only a valid certificate from the CA gets through, and names its CN', async () => {
    const s = identityServer(files({ ca: p('ca.crt'), requireClientCert: true }));
    servers.push(s);
    const port = await listen(s);
    assert.match(await whoami(port), /^error: /);
    assert.match(await whoami(port, 'foreign'), /^error: /);
    assert.match(await whoami(port, 'expired'), /^error: /);
    assert.equal(await whoami(port, 'client'), 'id=client-a');
    assert.equal(await whoami(port, 'spiffe'), `id=${SPIFFE}`);
  });

  it('ca without requireClientCert: optional, and an unverified certificate yields no identity', async () => {
    const s = identityServer(files({ ca: p('ca.crt') }));
    servers.push(s);
    const port = await listen(s);
    assert.equal(await whoami(port), 'anonymous');
    assert.equal(await whoami(port, 'foreign'), 'anonymous');
    assert.equal(await whoami(port, 'expired'), 'anonymous');
    assert.equal(await whoami(port, 'client'), 'id=client-a');
  });

  it('requireClientCert without a ca file is a configuration error', () => {
    assert.throws(() => httpsOptions(files({ requireClientCert: true })), /needs a ca/);
    assert.throws(() => grpcServerCredentials(files({ requireClientCert: true })), /needs a ca/);
  });

  it('certificateIdentity: SPIFFE id over CN, quoted SAN values stay one value', () => {
    assert.equal(certificateIdentity({ subject: { CN: 'a' } }), 'a');
    assert.equal(certificateIdentity({ subject: { CN: 'a' }, subjectaltname: `DNS:x, URI:${SPIFFE}` }), SPIFFE);
    assert.equal(certificateIdentity({ subjectaltname: 'URI:https://id.example/u1, DNS:x' }), 'https://id.example/u1');
    assert.equal(certificateIdentity({ subject: { CN: 'a' }, subjectaltname: 'URI:https://id.example/u1' }), 'a');
    const smuggled = `URI:"https://x/a, URI:${SPIFFE}"`;
    assert.equal(certificateIdentity({ subject: { CN: 'a' }, subjectaltname: smuggled }), 'a');
    assert.equal(certificateIdentity({}), undefined);
  });
});

// A trivial unary service with raw bytes, answering the caller's certificate identity.
const raw = (b: Buffer) => b;
const io = { requestSerialize: raw, requestDeserialize: raw, responseSerialize: raw, responseDeserialize: raw };
const WHO = { whoami: { path: '/infergate.test.Tls/WhoAmI', requestStream: false, responseStream: false, ...io } };
const WhoClient = grpc.makeGenericClientConstructor(WHO, 'Tls');
async function grpcServer(creds: grpc.ServerCredentials): Promise<{ server: grpc.Server; port: number }> {
  const server = new grpc.Server();
  server.addService(WHO, {
    whoami: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
      const pc = toPeerCertificate(call.getAuthContext().sslPeerCertificate);
      cb(null, Buffer.from(pc ? `id=${certificateIdentity(pc)}` : 'anonymous'));
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', creds, (e, n) => (e ? reject(e) : resolve(n))),
  );
  return { server, port };
}
function grpcWhoami(port: number, client?: string): Promise<string> {
  const creds = client
    ? grpc.credentials.createSsl(pem('ca.crt'), pem(`${client}.key`), pem(`${client}.crt`))
    : grpc.credentials.createSsl(pem('ca.crt'));
  // The name to verify (and send as SNI: Node deprecates an IP there); the certificate has DNS:localhost.
  const opts = { 'grpc.ssl_target_name_override': 'localhost' };
  const c = new WhoClient(`127.0.0.1:${port}`, creds, opts) as unknown as grpc.Client & {
    whoami(req: Buffer, opts: grpc.CallOptions, cb: (e: grpc.ServiceError | null, r?: Buffer) => void): void;
  };
  return new Promise((resolve) => {
    c.whoami(Buffer.alloc(0), { deadline: Date.now() + 3000 }, (e, r) => {
      c.close();
      resolve(e ? `error: ${grpc.status[e.code]}` : String(r));
    });
  });
}

describe('gRPC listener', () => {
  const servers: grpc.Server[] = [];
  after(() => {
    for (const s of servers) s.forceShutdown();
  });

  it('TLS: a client trusting the CA succeeds; the policy applies on the gRPC port too', async () => {
    const { server, port } = await grpcServer(grpcServerCredentials(files()));
    servers.push(server);
    assert.equal(await grpcWhoami(port), 'anonymous');
    const h2 = { ALPNProtocols: ['h2'] };
    assert.equal((await handshake(port, { ...h2, minVersion: 'TLSv1.3' })).ok, true);
    assert.equal((await handshake(port, { ...h2, ...legacy12('ECDHE-RSA-AES128-GCM-SHA256') })).ok, true);
    assert.equal((await handshake(port, { ...h2, ...TLS11 })).ok, false);
    assert.equal((await handshake(port, { ...h2, ...legacy12('ECDHE-RSA-AES128-SHA256') })).ok, false);
    assert.equal((await handshake(port, { ...h2, ...legacy12('AES128-SHA') })).ok, false);
  });

  it('mTLS: no certificate, a foreign or an expired one fail; a valid one succeeds with its identity', async () => {
    const creds = grpcServerCredentials(files({ ca: p('ca.crt'), requireClientCert: true }));
    const { server, port } = await grpcServer(creds);
    servers.push(server);
    assert.match(await grpcWhoami(port), /^error: UNAVAILABLE/);
    assert.match(await grpcWhoami(port, 'foreign'), /^error: UNAVAILABLE/);
    assert.match(await grpcWhoami(port, 'expired'), /^error: UNAVAILABLE/);
    assert.equal(await grpcWhoami(port, 'client'), 'id=client-a');
    assert.equal(await grpcWhoami(port, 'spiffe'), `id=${SPIFFE}`);
  });
});

describe('TlsReloader', () => {
  it('rotates HTTPS and gRPC under a connection loop with 0 failures; a broken key keeps the last good pair', async () => {
    const live = join(dir, 'live');
    mkdirSync(live);
    const lf: TlsFiles = { cert: join(live, 'tls.crt'), key: join(live, 'tls.key') };
    // Renewers write a new file and rename it over the old one.
    const put = (target: string, data: Buffer | string) => {
      writeFileSync(`${target}.tmp`, data);
      renameSync(`${target}.tmp`, target);
    };
    put(lf.cert, pem('server1.crt'));
    put(lf.key, pem('server1.key'));
    const fp1 = new X509Certificate(pem('server1.crt')).fingerprint256;
    const fp2 = new X509Certificate(pem('server2.crt')).fingerprint256;

    const httpsServer = https.createServer(httpsOptions(lf), (_q, r) => r.end('ok'));
    const httpsPort = await listen(httpsServer);
    const creds = grpcServerCredentials(lf);
    const g = await grpcServer(creds);
    const errors: Error[] = [];
    const reloads: string[] = [];
    const reloader = new TlsReloader(lf, [httpsServer, creds], {
      intervalMs: 50,
      settleMs: 100,
      onError: (e) => errors.push(e),
      onReload: (i) => reloads.push(i.fingerprint256),
    });

    const seen: Array<{ at: number; fp: string; port: number }> = [];
    const failures: string[] = [];
    let stop = false;
    const loop = (async () => {
      for (let i = 0; !stop; i++) {
        const port = i % 2 ? g.port : httpsPort;
        const r = await handshake(port, port === g.port ? { ALPNProtocols: ['h2'] } : {});
        if (r.ok) seen.push({ at: Date.now(), fp: r.fingerprint, port });
        else failures.push(r.error);
        await new Promise((res) => setTimeout(res, 20));
      }
    })();
    const waitFor = async (cond: () => boolean, ms: number) => {
      const until = Date.now() + ms;
      while (!cond() && Date.now() < until) await new Promise((res) => setTimeout(res, 20));
      return cond();
    };
    try {
      await new Promise((res) => setTimeout(res, 300));
      assert.ok(seen.length > 0 && seen.every((s) => s.fp === fp1));
      const swapped = Date.now();
      put(lf.cert, pem('server2.crt'));
      put(lf.key, pem('server2.key'));
      // Both listeners present the new certificate within 5 s.
      const onBoth = () =>
        [httpsPort, g.port].every((port) => seen.some((s) => s.at > swapped && s.port === port && s.fp === fp2));
      assert.ok(await waitFor(onBoth, 5000), `new certificate not served: ${JSON.stringify(seen.slice(-4))}`);
      assert.deepEqual(reloads, [fp2]);
      assert.equal(errors.length, 0, String(errors[0]));
      // Node's setSecureContext drops ciphers/minVersion it is not given: the new context keeps the policy.
      for (const port of [httpsPort, g.port]) {
        for (const opts of [legacy12('ECDHE-RSA-AES128-SHA256'), TLS11]) {
          assert.equal((await handshake(port, { ALPNProtocols: ['h2'], ...opts })).ok, false);
        }
      }
      // The renewer mid-swap does not make a mismatched pair visible: after the first new handshake, only new ones.
      const firstNew = seen.findIndex((s) => s.fp === fp2);
      assert.ok(seen.slice(firstNew).every((s) => s.fp === fp2));

      put(lf.key, 'not a key');
      assert.ok(await waitFor(() => errors.length > 0, 5000), 'broken key not reported');
      assert.match(errors[0]!.message, /TLS reload failed, keeping the current certificate/);
      put(lf.key, pem('server1.key')); // a valid key that does not match server2.crt
      assert.ok(await waitFor(() => errors.length > 1, 5000), 'mismatched key not reported');
      const mark = seen.length;
      await new Promise((res) => setTimeout(res, 400));
      assert.ok(seen.length > mark + 4 && seen.slice(mark).every((s) => s.fp === fp2), 'last good pair still served');
      assert.deepEqual(reloads, [fp2]);
    } finally {
      stop = true;
      await loop;
      reloader.close();
      await closeServer(httpsServer);
      g.server.forceShutdown();
    }
    assert.deepEqual(failures, [], 'no handshake failed during rotation');
  });
});
