/**
 * Bearer JWTs verified with jose against static keys or a JWKS URL. Each key is pinned to one
 * algorithm (no `alg: none`, no HS256 made with an RSA public key: reliability.md S14/S15);
 * `exp` is required and `exp`/`nbf`/`aud`/`iss` are checked with a small clock skew (S16). A
 * JWKS is fetched again on an unknown `kid` at most once per cooldown (no stampede from a flood of
 * made-up kids); headers such as `jku`, `x5u` or an embedded `jwk` are never followed. A verified
 * token is cached until it expires, so a repeat costs a map lookup (the ≤ 50 µs budget).
 */
import { readFileSync } from 'node:fs';
import {
  createRemoteJWKSet,
  importJWK,
  importSPKI,
  type JWTPayload,
  type JWTVerifyGetKey,
  jwtVerify,
  type CryptoKey as JoseKey,
  type KeyObject,
} from 'jose';
import { LRUCache } from 'lru-cache';
import type { Principal, Scope } from '../core/index.js';

export interface JwtKeySpec {
  /** Matched against the token's `kid`; absent: the key for tokens without a kid. */
  kid?: string;
  /** The one algorithm this key verifies (RS256, ES256, EdDSA, HS256…). */
  alg: string;
  /** A PEM public key (SPKI) or a JWK (JSON) file; for HS* a file holding the shared secret. */
  file: string;
}

export interface JwtOptions {
  issuer?: string | string[];
  audience?: string | string[];
  keys?: JwtKeySpec[];
  jwksUrl?: string;
  /** Algorithms a JWKS key may use (required with jwksUrl). */
  algorithms?: string[];
  clockSkewSeconds?: number;
  scopeClaim?: string;
  tenantClaim?: string;
  modelsClaim?: string;
  /** Longest token accepted, in bytes (default 8 KiB). */
  maxTokenBytes?: number;
}

/** A refusal reason, for the log and the audit trail only. */
export type JwtRefusal = { refused: string };

const SCOPES = new Set<Scope>(['infer', 'read', 'admin']);

export class JwtVerifier {
  private readonly getKey: JWTVerifyGetKey;
  private readonly algorithms: string[];
  private readonly cache = new LRUCache<string, { principal: Principal; expMs: number }>({
    maxSize: 16 * 1024 * 1024,
    sizeCalculation: (_v, k) => k.length + 256,
  });

  constructor(private readonly o: JwtOptions) {
    if (o.jwksUrl) {
      if (!o.algorithms?.length) throw new Error('jwt.jwks_url needs jwt.algorithms (the algorithms to accept)');
      this.algorithms = o.algorithms;
      this.getKey = createRemoteJWKSet(new URL(o.jwksUrl), {
        cooldownDuration: 60_000,
        cacheMaxAge: 10 * 60_000,
        timeoutDuration: 5000,
      });
    } else {
      const specs = o.keys ?? [];
      if (specs.length === 0) throw new Error('jwt needs keys or jwks_url');
      this.algorithms = [...new Set(specs.map((k) => k.alg))];
      const loaded = specs.map((spec) => ({ spec, key: loadKey(spec) }));
      this.getKey = async (header: { kid?: string; alg?: string }) => {
        const hit = loaded.find((k) => k.spec.kid === header.kid) ?? (header.kid === undefined ? loaded[0] : undefined);
        // The key decides the algorithm: a token claiming another one never reaches the verifier.
        if (!hit || hit.spec.alg !== header.alg) throw new Error('no key for this kid and algorithm');
        return hit.key;
      };
    }
  }

  async verify(token: string, nowMs: number): Promise<Principal | JwtRefusal> {
    if (token.length > (this.o.maxTokenBytes ?? 8192)) return { refused: 'token too large' };
    const cached = this.cache.get(token);
    if (cached && cached.expMs > nowMs) return cached.principal;
    try {
      const { payload } = await jwtVerify(token, this.getKey, {
        algorithms: this.algorithms,
        issuer: this.o.issuer,
        audience: this.o.audience,
        clockTolerance: this.o.clockSkewSeconds ?? 60,
        requiredClaims: ['exp'],
        currentDate: new Date(nowMs),
      });
      const principal = this.principalOf(payload);
      this.cache.set(token, { principal, expMs: (payload.exp as number) * 1000 });
      return principal;
    } catch (err) {
      const code = (err as { code?: string }).code;
      return { refused: code ? `jwt: ${code}` : `jwt: ${(err as Error).message}` };
    }
  }

  private principalOf(p: JWTPayload): Principal {
    const claim = (name: string | undefined, fallback: string) => p[name ?? fallback];
    const rawScopes = claim(this.o.scopeClaim, 'scope') ?? p.scp;
    const list = typeof rawScopes === 'string' ? rawScopes.split(/\s+/) : Array.isArray(rawScopes) ? rawScopes : [];
    const tenant = claim(this.o.tenantClaim, 'tenant');
    const models = claim(this.o.modelsClaim, 'models');
    return {
      id: `jwt:${String(p.sub ?? 'unknown').slice(0, 128)}`,
      kind: 'jwt',
      scopes: list.filter((s): s is Scope => SCOPES.has(s as Scope)),
      tenant: typeof tenant === 'string' ? tenant : undefined,
      models: Array.isArray(models) ? models.filter((m): m is string => typeof m === 'string') : undefined,
    };
  }
}

function loadKey(spec: JwtKeySpec): Promise<KeyObject | JoseKey | Uint8Array> {
  const text = readFileSync(spec.file, 'utf8');
  if (spec.alg.startsWith('HS')) return Promise.resolve(new TextEncoder().encode(text.trim()));
  if (text.trimStart().startsWith('{')) return importJWK(JSON.parse(text), spec.alg) as Promise<KeyObject | JoseKey>;
  return importSPKI(text, spec.alg);
}
