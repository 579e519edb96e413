// The gatekeeper's decisions (reliability.md S13-S17): API keys, JWT attacks and claims, one
// identical 401 for every refusal, scopes, tenant visibility, and the auth-off local mode.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createHmac } from 'node:crypto';
import { exportJWK, exportSPKI, generateKeyPair, SignJWT } from 'jose';
import { ApiKeyStore } from '../../../src/auth/api-keys.js';
import { DefaultGatekeeper, type DeniedEvent, UNAUTHENTICATED_TEXT } from '../../../src/auth/gatekeeper.js';
import { JwtVerifier } from '../../../src/auth/jwt.js';
import { InferError, type Principal } from '../../../src/core/index.js';

type Key = Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];
const dir = mkdtempSync(join(tmpdir(), 'ig-auth-'));
const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');

async function refusal(run: () => Principal | Promise<Principal>): Promise<InferError> {
  try {
    await run();
  } catch (err) {
    assert.ok(err instanceof InferError);
    return err;
  }
  assert.fail('expected a refusal');
}

describe('API keys', () => {
  let clock = Date.UTC(2026, 11, 7);
  const file = join(dir, 'keys.json');
  const store = new ApiKeyStore(file, () => clock);
  const denied: DeniedEvent[] = [];
  const gate = new DefaultGatekeeper({ mode: 'required', apiKeys: store, onDenied: (e) => denied.push(e) });

  test('a created key authenticates as key:<prefix> with its scopes; the file holds no secret', async () => {
    const { key, record } = store.create({ name: 'ci', scopes: ['infer', 'read'], tenant: 'acme' });
    assert.match(key, /^igk_[a-z2-7]{8}_[A-Za-z0-9_-]{40}$/);
    const p = await gate.authenticate({ headers: { 'x-api-key': key } });
    assert.deepEqual(
      [p.id, p.kind, p.scopes, p.tenant],
      [`key:${record.prefix}`, 'api-key', ['infer', 'read'], 'acme'],
    );
    const bearer = await gate.authenticate({ headers: { authorization: `Bearer ${key}` } });
    assert.equal(bearer.id, p.id);
    const text = (await import('node:fs')).readFileSync(file, 'utf8');
    // The secret is everything after 'igk_<prefix>_' (base64url: it may itself contain '_').
    const secret = key.slice('igk_'.length + record.prefix.length + 1);
    assert.equal(secret.length, 40);
    assert.ok(!text.includes(secret), 'the secret is not stored');
  });

  test('wrong secret, unknown, malformed, revoked and expired keys: the same 401', async () => {
    const { key, record } = store.create({
      name: 'x',
      scopes: ['infer'],
      expiresAt: new Date(clock + 60_000).toISOString(),
    });
    const bodies = new Set<string>();
    const tryKey = async (k: string) => {
      const e = await refusal(() => gate.authenticate({ headers: { 'x-api-key': k } }));
      assert.equal(e.code, 'IG_ERR_UNAUTHENTICATED');
      bodies.add(e.message);
    };
    await tryKey(`${key.slice(0, -1)}${key.endsWith('A') ? 'B' : 'A'}`);
    await tryKey('igk_aaaaaaaa_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA');
    await tryKey('not-a-key');
    clock += 120_000;
    await tryKey(key);
    clock -= 120_000;
    store.revoke(record.prefix);
    await tryKey(key);
    assert.deepEqual([...bodies], [UNAUTHENTICATED_TEXT]);
    assert.deepEqual(
      denied.slice(-5).map((d) => d.reason),
      ['API key wrong-secret', 'API key unknown', 'API key malformed', 'API key expired', 'API key revoked'],
    );
    assert.ok(
      denied.every((d) => !JSON.stringify(d).includes(key.split('_').slice(2).join('_'))),
      'no secret in the audit events',
    );
  });

  test('no credentials: 401 when required, the local principal when off', async () => {
    assert.equal((await refusal(() => gate.authenticate({ headers: {} }))).code, 'IG_ERR_UNAUTHENTICATED');
    const off = new DefaultGatekeeper({ mode: 'off' });
    const local = await off.authenticate({ headers: {}, remoteAddress: '::ffff:127.0.0.1' });
    assert.deepEqual(local.scopes, ['infer', 'read', 'admin']);
    const remote = await off.authenticate({ headers: {}, remoteAddress: '10.1.2.3' });
    assert.deepEqual(remote.scopes, ['infer', 'read']);
    // To a remote caller without auth, the control surface does not exist (S13).
    assert.throws(
      () => off.authorize(remote, 'admin'),
      (e: InferError) => e.code === 'IG_ERR_ROUTE_NOT_FOUND',
    );
    off.authorize(remote, 'infer', 'm');
  });
});

describe('authorization: scopes and tenants', () => {
  const gate = new DefaultGatekeeper({ mode: 'required', tenants: { acme: { models: ['acme-*', 'shared'] } } });
  const acme: Principal = { id: 'key:a', kind: 'api-key', scopes: ['infer'], tenant: 'acme' };

  test('a model outside the tenant is indistinguishable from one that does not exist', () => {
    const hidden = (() => {
      try {
        gate.authorize(acme, 'infer', 'globex-fraud');
      } catch (e) {
        return e as InferError;
      }
    })();
    assert.equal(hidden?.code, 'IG_ERR_MODEL_NOT_FOUND');
    assert.equal(hidden?.message, "Request for unknown model: 'globex-fraud' is not found");
    gate.authorize(acme, 'infer', 'acme-fraud');
    gate.authorize(acme, 'infer', 'shared');
    assert.equal(gate.visible(acme, 'globex-fraud'), false);
  });

  test('visibility first, then scope: an infer token on the control surface is 403 naming the scope', () => {
    assert.throws(() => gate.authorize(acme, 'admin'), /the 'admin' scope is required/);
    assert.throws(
      () => gate.authorize(acme, 'read', 'globex-x'),
      (e: InferError) => e.code === 'IG_ERR_MODEL_NOT_FOUND',
    );
    const narrow: Principal = { ...acme, models: ['acme-fraud'] };
    assert.equal(gate.visible(narrow, 'acme-churn'), false);
  });
});

describe('JWT (S14-S16)', () => {
  let jwksFetches = 0;
  let canary = 0;
  let rsPublicPem = '';
  let rsPrivate: Key;
  let esPrivate: Key;
  let jwksUrl = '';
  const servers: ReturnType<typeof createServer>[] = [];
  let gate: DefaultGatekeeper;
  let jwksGate: DefaultGatekeeper;
  const now = Date.UTC(2026, 11, 7, 12);
  const sec = Math.floor(now / 1000);

  before(async () => {
    const rs = await generateKeyPair('RS256', { extractable: true });
    const es = await generateKeyPair('ES256', { extractable: true });
    rsPrivate = rs.privateKey;
    esPrivate = es.privateKey;
    rsPublicPem = await exportSPKI(rs.publicKey);
    writeFileSync(join(dir, 'rs.pem'), rsPublicPem);
    const jwk = { ...(await exportJWK(rs.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
    const jwks = createServer((_req, res) => {
      jwksFetches++;
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ keys: [jwk] }));
    });
    const canaryServer = createServer((_req, res) => {
      canary++;
      res.end('{}');
    });
    for (const s of [jwks, canaryServer]) {
      servers.push(s);
      await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    }
    jwksUrl = `http://127.0.0.1:${(jwks.address() as { port: number }).port}/jwks.json`;
    const opts = { issuer: 'https://issuer.test', audience: 'infergate', clockSkewSeconds: 60 };
    const clock = () => now;
    gate = new DefaultGatekeeper({
      mode: 'required',
      jwt: new JwtVerifier({ ...opts, keys: [{ alg: 'RS256', file: join(dir, 'rs.pem') }] }),
      now: clock,
    });
    jwksGate = new DefaultGatekeeper({
      mode: 'required',
      jwt: new JwtVerifier({ ...opts, jwksUrl, algorithms: ['RS256'] }),
      now: clock,
    });
  });
  after(() => {
    for (const s of servers) s.close();
  });

  const claims = (extra: Record<string, unknown> = {}) => ({
    iss: 'https://issuer.test',
    aud: 'infergate',
    sub: 'alice',
    scope: 'infer read bogus',
    tenant: 'acme',
    iat: sec,
    exp: sec + 600,
    ...extra,
  });
  const sign = (
    c: Record<string, unknown>,
    header: Record<string, unknown> = {},
    key: Key = rsPrivate,
    alg = 'RS256',
  ) => new SignJWT(c).setProtectedHeader({ alg, ...header }).sign(key);
  const bearer = (t: string) => ({ headers: { authorization: `Bearer ${t}` } });

  test('a valid token → jwt:<sub> with known scopes and its tenant; cached on repeat', async () => {
    const t = await sign(claims());
    const p = await gate.authenticate(bearer(t));
    assert.deepEqual([p.id, p.kind, p.scopes, p.tenant], ['jwt:alice', 'jwt', ['infer', 'read'], 'acme']);
    assert.equal(await gate.authenticate(bearer(t)), p, 'the second call hits the cache');
  });

  test('alg none in every spelling, HS256 keyed with the RSA public key, ES256 where RS256 is pinned: 401', async () => {
    const body = b64(claims());
    const tokens = [
      ...['none', 'None', 'NONE', 'nOnE'].flatMap((alg) => [
        `${b64({ alg, typ: 'JWT' })}.${body}.`,
        `${b64({ alg })}.${body}`,
      ]),
      (() => {
        const head = b64({ alg: 'HS256', typ: 'JWT' });
        const sig = createHmac('sha256', rsPublicPem).update(`${head}.${body}`).digest('base64url');
        return `${head}.${body}.${sig}`;
      })(),
      await sign(claims(), {}, esPrivate, 'ES256'),
    ];
    for (const t of tokens)
      assert.equal((await refusal(() => gate.authenticate(bearer(t)))).message, UNAUTHENTICATED_TEXT, t.slice(0, 40));
  });

  test('embedded jwk, jku and x5u headers are never followed (0 fetches to the canary)', async () => {
    const where = `http://127.0.0.1:${(servers[1]!.address() as { port: number }).port}/`;
    const es = await exportJWK((await generateKeyPair('ES256', { extractable: true })).publicKey);
    for (const header of [{ jku: where }, { x5u: where }, { jwk: es }]) {
      const t = await sign(claims(), { ...header, kid: 'evil' });
      await refusal(() => jwksGate.authenticate(bearer(t)));
    }
    assert.equal(canary, 0);
  });

  test('exp past the skew, no exp, nbf in the future, wrong audience or issuer, a 16 KiB token: 401', async () => {
    const bad = [
      claims({ exp: sec - 61 }),
      (({ exp: _e, ...rest }) => rest)(claims()),
      claims({ nbf: sec + 61 }),
      claims({ aud: 'someone-else' }),
      claims({ iss: 'https://evil.test' }),
      claims({ pad: 'x'.repeat(16 * 1024) }),
    ];
    for (const c of bad) {
      const t = await sign(c);
      await refusal(() => gate.authenticate(bearer(t)));
    }
    // Within the skew is accepted.
    await gate.authenticate(bearer(await sign(claims({ exp: sec - 30 }))));
  });

  test('1,000 unknown kids cause at most one JWKS refresh (no stampede)', async () => {
    const ok = await sign(claims(), { kid: 'k1' });
    await jwksGate.authenticate(bearer(ok));
    const before = jwksFetches;
    for (let i = 0; i < 1000; i++) {
      const t = await sign(claims(), { kid: `unknown-${i}` });
      await refusal(() => jwksGate.authenticate(bearer(t)));
    }
    assert.ok(jwksFetches - before <= 1, `${jwksFetches - before} JWKS fetches`);
  });
});
