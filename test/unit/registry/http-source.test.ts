// reliability.md S12: model URLs cannot reach anything the operator did not allowlist. Every SSRF
// case must be refused with IG_ERR_FORBIDDEN_SOURCE before a connection is made; the canary
// listener counts connections and must end at 0.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createPolicedFetch, DEFAULT_FETCH_POLICY, type FetchPolicy } from '../../../src/registry/sources/http.js';
import {
  assertRejects,
  closeAll,
  listen,
  MODEL,
  resolverStub,
  startCanary,
  startFileServer,
} from './http-source-fixtures.js';

const policy = (over: Partial<FetchPolicy>): FetchPolicy => ({
  ...DEFAULT_FETCH_POLICY,
  allowHttp: true,
  timeoutMs: 5000,
  ...over,
});

describe('S12: refused before connecting', () => {
  let canary: Awaited<ReturnType<typeof startCanary>>;
  let redirector: Server;
  let R = 0;
  const redirectorHits: string[] = [];
  let C = 0;

  before(async () => {
    canary = await startCanary();
    C = canary.port;
    const targets: Record<string, string> = {
      '/to-canary': `http://127.0.0.1:${C}/`,
      '/to-metadata': 'http://169.254.169.254/latest/meta-data',
      '/to-ipv6': `http://[::1]:${C}/`,
      '/to-hex': `http://0x7f000001:${C}/`,
      '/to-named': `http://inner.test:${C}/`,
      '/to-file': 'file:///etc/passwd',
      '/to-gopher': `gopher://127.0.0.1:${C}/_INFO`,
      '/loop': '/loop',
    };
    redirector = createHttpServer((req, res) => {
      redirectorHits.push(req.url ?? '');
      res.writeHead(302, { location: targets[req.url ?? ''] ?? '/nowhere' });
      res.end();
    });
    R = await listen(redirector);
  });

  after(async () => {
    // The assertion the whole suite exists for: nothing above reached the canary.
    assert.equal(canary.connections(), 0, 'the canary listener saw connections');
    await canary.close();
    await closeAll(redirector);
  });

  // Nothing allowlisted but a name that is never used: every literal must fail on its own.
  const strict = () => createPolicedFetch(policy({ allowHosts: ['models.example.com'] }));

  test('http://127.0.0.1:<canary>/', () =>
    assertRejects(
      strict(),
      `http://127.0.0.1:${C}/`,
      'IG_ERR_FORBIDDEN_SOURCE',
      /'127\.0\.0\.1:\d+' is not in the allowed hosts \(--registry-fetch-allow\)/,
    ));
  test('http://169.254.169.254/latest/meta-data', () =>
    assertRejects(
      strict(),
      'http://169.254.169.254/latest/meta-data',
      'IG_ERR_FORBIDDEN_SOURCE',
      /'169\.254\.169\.254' is not in the allowed hosts/,
    ));
  test('http://[::1]:<canary>/', () =>
    assertRejects(strict(), `http://[::1]:${C}/`, 'IG_ERR_FORBIDDEN_SOURCE', /'::1:\d+' is not in the allowed hosts/));
  test('http://0x7f000001:<canary>/ (normalised to 127.0.0.1)', () =>
    assertRejects(strict(), `http://0x7f000001:${C}/`, 'IG_ERR_FORBIDDEN_SOURCE', /'127\.0\.0\.1:\d+' is not in/));
  test('http://2130706433:<canary>/ (normalised to 127.0.0.1)', () =>
    assertRejects(strict(), `http://2130706433:${C}/`, 'IG_ERR_FORBIDDEN_SOURCE', /'127\.0\.0\.1:\d+' is not in/));
  for (const notation of [
    '0177.0.0.1',
    '127.1',
    '0',
    '%31%32%37.0.0.1',
    '\uff11\uff12\uff17.0.0.1',
    '[::ffff:127.0.0.1]',
    '[::ffff:7f00:1]',
    '[0:0:0:0:0:0:0:1]',
    '127.0.0.1.',
  ])
    test(`http://${notation}:<canary>/`, () =>
      assertRejects(strict(), `http://${notation}:${C}/`, 'IG_ERR_FORBIDDEN_SOURCE', /is not in the allowed hosts/));
  test('file:///etc/passwd', () =>
    assertRejects(strict(), 'file:///etc/passwd', 'IG_ERR_FORBIDDEN_SOURCE', /scheme 'file:' is not allowed/));
  test('gopher://127.0.0.1:<canary>/', () =>
    assertRejects(strict(), `gopher://127.0.0.1:${C}/_INFO`, 'IG_ERR_FORBIDDEN_SOURCE', /scheme 'gopher:'/));
  for (const url of ['ftp://models.example.com/m.onnx', 'data:application/octet-stream;base64,AAAA'])
    test(url, () => assertRejects(strict(), url, 'IG_ERR_FORBIDDEN_SOURCE', /scheme/));
  test('http:// when only https is allowed', () =>
    assertRejects(
      createPolicedFetch({ ...DEFAULT_FETCH_POLICY, allowHosts: ['models.example.com'] }),
      'http://models.example.com/m.onnx',
      'IG_ERR_FORBIDDEN_SOURCE',
      /'http:' is not allowed \(only https\)/,
    ));
  test('credentials in the URL, and the userinfo trick', async () => {
    await assertRejects(strict(), 'http://u:p@models.example.com/', 'IG_ERR_FORBIDDEN_SOURCE', /credentials/);
    await assertRejects(
      strict(),
      `http://models.example.com@127.0.0.1:${C}/`,
      'IG_ERR_FORBIDDEN_SOURCE',
      /credentials/,
    );
  });
  test('a backslash is a path separator to WHATWG URL (parser differential)', () =>
    assertRejects(
      strict(),
      `http://127.0.0.1:${C}\\@models.example.com/`,
      'IG_ERR_FORBIDDEN_SOURCE',
      /'127\.0\.0\.1:\d+'/,
    ));

  test('an allowlisted hostname that resolves to 127.0.0.1', async () => {
    const stub = resolverStub({ 'evil.test': ['127.0.0.1'] });
    const fetch = createPolicedFetch(policy({ allowHosts: [`evil.test:${C}`], lookup: stub.lookup }));
    await assertRejects(
      fetch,
      `http://evil.test:${C}/`,
      'IG_ERR_FORBIDDEN_SOURCE',
      /source address 127\.0\.0\.1 of host 'evil\.test' is a loopback address/,
    );
  });

  test('an allowlisted hostname with one public and one private address', async () => {
    for (const addrs of [
      ['93.184.216.34', '10.0.0.7'],
      ['10.0.0.7', '93.184.216.34'],
      ['2606:2800:220:1::1', '::ffff:127.0.0.1'],
    ]) {
      const stub = resolverStub({ 'mixed.test': addrs });
      const fetch = createPolicedFetch(policy({ allowHosts: [`mixed.test:${C}`], lookup: stub.lookup }));
      await assertRejects(fetch, `http://mixed.test:${C}/`, 'IG_ERR_FORBIDDEN_SOURCE', /is a (private|loopback)/);
    }
  });

  test('an allowlisted host that redirects to the canary, metadata, loopback forms and other schemes', async () => {
    const stub = resolverStub({ 'redirect.test': ['127.0.0.1'], 'inner.test': ['127.0.0.1'] });
    const fetch = createPolicedFetch(
      policy({ allowHosts: [`redirect.test:${R}`, `127.0.0.1:${R}`, `inner.test:${C}`], lookup: stub.lookup }),
    );
    const base = `http://redirect.test:${R}`;
    await assertRejects(fetch, `${base}/to-canary`, 'IG_ERR_FORBIDDEN_SOURCE', /'127\.0\.0\.1:\d+' is not in/);
    await assertRejects(fetch, `${base}/to-metadata`, 'IG_ERR_FORBIDDEN_SOURCE', /'169\.254\.169\.254' is not in/);
    await assertRejects(fetch, `${base}/to-ipv6`, 'IG_ERR_FORBIDDEN_SOURCE', /'::1:\d+' is not in/);
    await assertRejects(fetch, `${base}/to-hex`, 'IG_ERR_FORBIDDEN_SOURCE', /'127\.0\.0\.1:\d+' is not in/);
    await assertRejects(fetch, `${base}/to-named`, 'IG_ERR_FORBIDDEN_SOURCE', /of host 'inner\.test' is a loopback/);
    await assertRejects(fetch, `${base}/to-file`, 'IG_ERR_FORBIDDEN_SOURCE', /scheme 'file:'/);
    await assertRejects(fetch, `${base}/to-gopher`, 'IG_ERR_FORBIDDEN_SOURCE', /scheme 'gopher:'/);
    await assertRejects(fetch, `${base}/loop`, 'IG_ERR_FORBIDDEN_SOURCE', /redirected more than 3 times/);
    // The first hop really was fetched: the refusals above are re-validation, not an early miss.
    assert.ok(redirectorHits.includes('/to-canary') && redirectorHits.includes('/to-named'));
    assert.equal(redirectorHits.filter((h) => h === '/loop').length, 4);
  });

  test('a bad allowlist entry fails when the policy is built', () =>
    assert.throws(() => createPolicedFetch(policy({ allowHosts: ['http://x/'] })), { code: 'IG_ERR_INVALID_ARG' }));
});

describe('S12: allowed fetches', () => {
  let files: Awaited<ReturnType<typeof startFileServer>>;
  let F = 0;
  before(async () => {
    files = await startFileServer();
    F = files.port;
  });
  after(() => closeAll(files.server));

  const local = (over: Partial<FetchPolicy> = {}) =>
    createPolicedFetch(policy({ allowHosts: [`127.0.0.1:${F}`], ...over }));

  test('an allowlisted 127.0.0.1:<port> serves the bytes', async () => {
    const res = await local()(`http://127.0.0.1:${F}/model.onnx`);
    assert.equal(res.status, 200);
    assert.equal(res.url, `http://127.0.0.1:${F}/model.onnx`);
    assert.deepEqual(Buffer.from(await res.arrayBuffer()), MODEL);
  });

  test('the connection is pinned to the checked address (the name never resolves for real)', async () => {
    const stub = resolverStub({ 'rebind.test': ['127.0.0.1'] });
    const fetch = local({ allowHosts: [`rebind.test:${F}`, `127.0.0.1:${F}`], lookup: stub.lookup });
    const res = await fetch(`http://rebind.test:${F}/model.onnx`);
    assert.deepEqual(Buffer.from(await res.arrayBuffer()), MODEL);
    assert.deepEqual(stub.calls, ['rebind.test']);
  });

  test('a redirect to an allowlisted host is followed; credentials stay with their origin', async () => {
    const other = createHttpServer((req, res) => {
      const to = req.url === '/hop' ? `http://127.0.0.1:${F}/model.onnx` : `http://other.test:${F}/echo-auth`;
      res.writeHead(req.url === '/hop' ? 301 : 307, { location: to });
      res.end();
    });
    const O = await listen(other);
    try {
      const stub = resolverStub({ 'other.test': ['127.0.0.1'] });
      const allowHosts = [`127.0.0.1:${F}`, `127.0.0.1:${O}`, `other.test:${F}`];
      const fetch = local({ allowHosts, lookup: stub.lookup });
      const hop = await fetch(`http://127.0.0.1:${O}/hop`);
      assert.equal(hop.url, `http://127.0.0.1:${F}/model.onnx`);
      assert.deepEqual(Buffer.from(await hop.arrayBuffer()), MODEL);
      const res = await fetch(`http://127.0.0.1:${O}/cross`, { headers: { authorization: 'Bearer secret' } });
      assert.equal(await res.text(), 'none');
    } finally {
      await closeAll(other);
    }
  });

  test('Content-Length over the limit is refused before the body', async () => {
    const t0 = Date.now();
    await assertRejects(
      local({ maxBytes: 1000 }),
      `http://127.0.0.1:${F}/declared-huge.onnx`,
      'IG_ERR_FORBIDDEN_SOURCE',
      /larger than the limit of 1000 bytes/,
    );
    assert.ok(Date.now() - t0 < 2000);
  });

  test('a chunked body over the limit is aborted', async () => {
    const res = await local({ maxBytes: 4096 })(`http://127.0.0.1:${F}/endless.onnx`);
    assert.equal(res.headers.get('content-length'), null);
    await assert.rejects(res.arrayBuffer(), {
      code: 'IG_ERR_FORBIDDEN_SOURCE',
      message: /larger than the limit of 4096/,
    });
  });

  test('a server that never answers: IG_ERR_STORE_UNAVAILABLE within the timeout', async () => {
    const t0 = Date.now();
    await assertRejects(
      local({ timeoutMs: 300 }),
      `http://127.0.0.1:${F}/hang`,
      'IG_ERR_STORE_UNAVAILABLE',
      /'127\.0\.0\.1' did not answer within 300 ms/,
    );
    assert.ok(Date.now() - t0 < 2000, `took ${Date.now() - t0} ms`);
  });

  test('a body that stalls past the timeout fails too', async () => {
    const res = await local({ timeoutMs: 300, maxBytes: 1e9 })(`http://127.0.0.1:${F}/endless.onnx`);
    await assert.rejects(res.arrayBuffer(), { code: 'IG_ERR_STORE_UNAVAILABLE', message: /did not answer within/ });
  });

  test("the caller's signal cancels the fetch", async () => {
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 100);
    await assert.rejects(local()(`http://127.0.0.1:${F}/hang`, { signal: ac.signal }), { code: 'IG_ERR_CANCELLED' });
  });

  test('404 → IG_ERR_NOT_FOUND, 500 → IG_ERR_STORE_UNAVAILABLE, refused port → unavailable', async () => {
    await assertRejects(
      local(),
      `http://127.0.0.1:${F}/missing.onnx`,
      'IG_ERR_NOT_FOUND',
      /was not found \(HTTP 404\)/,
    );
    await assertRejects(local(), `http://127.0.0.1:${F}/error`, 'IG_ERR_STORE_UNAVAILABLE', /answered HTTP 500/);
    const closed = createHttpServer();
    const P = await listen(closed);
    await closeAll(closed);
    await assertRejects(
      createPolicedFetch(policy({ allowHosts: [`127.0.0.1:${P}`] })),
      `http://127.0.0.1:${P}/`,
      'IG_ERR_STORE_UNAVAILABLE',
      /'127\.0\.0\.1' cannot be reached \(ECONNREFUSED\)/,
    );
    await assertRejects(
      local({ allowHosts: [`nowhere.test:${F}`], lookup: resolverStub({}).lookup }),
      `http://nowhere.test:${F}/`,
      'IG_ERR_STORE_UNAVAILABLE',
      /'nowhere\.test' cannot be reached \(ENOTFOUND\)/,
    );
  });

  const openssl = spawnSync('openssl', ['version']).status === 0;
  test('https with SNI and Host of the hostname, pinned, with an operator CA', {
    skip: !openssl && 'no openssl on this machine to make a throwaway certificate',
  }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ig-https-'));
    try {
      const made = spawnSync(
        'openssl',
        [
          'req',
          '-x509',
          '-newkey',
          'rsa:2048',
          '-nodes',
          '-days',
          '1',
          '-subj',
          '/CN=models.test',
          '-addext',
          'subjectAltName=DNS:models.test',
          '-keyout',
          join(dir, 'key.pem'),
          '-out',
          join(dir, 'cert.pem'),
        ],
        { encoding: 'utf8' },
      );
      assert.equal(made.status, 0, made.stderr);
      const cert = readFileSync(join(dir, 'cert.pem'), 'utf8');
      const seen: Array<{ sni: unknown; host: unknown }> = [];
      const server = createHttpsServer({ key: readFileSync(join(dir, 'key.pem')), cert }, (req, res) => {
        seen.push({ sni: (req.socket as { servername?: unknown }).servername, host: req.headers.host });
        res.writeHead(200, { 'content-type': 'application/octet-stream' });
        res.end(MODEL);
      });
      const S = await listen(server);
      try {
        const stub = resolverStub({ 'models.test': ['127.0.0.1'] });
        const allowHosts = [`models.test:${S}`, `127.0.0.1:${S}`];
        const fetch = createPolicedFetch(policy({ allowHttp: false, allowHosts, lookup: stub.lookup, ca: cert }));
        const res = await fetch(`https://models.test:${S}/model.onnx`);
        assert.deepEqual(Buffer.from(await res.arrayBuffer()), MODEL);
        assert.deepEqual(seen, [{ sni: 'models.test', host: `models.test:${S}` }]);
        // Without the operator's CA the self-signed certificate is not trusted.
        const untrusted = createPolicedFetch(policy({ allowHttp: false, allowHosts, lookup: stub.lookup }));
        await assertRejects(
          untrusted,
          `https://models.test:${S}/model.onnx`,
          'IG_ERR_STORE_UNAVAILABLE',
          /cannot be reached/,
        );
      } finally {
        await closeAll(server);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
