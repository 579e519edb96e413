/**
 * The auth configuration file (`--auth-config FILE`, YAML or JSON), validated once at start with
 * messages that name the field. Secrets are never inline: keys and shared secrets are files
 * (paths), and a value may also come from an environment variable `NAME_FILE`-style by path.
 *
 *   mode: required                # or off (default): then the control surface is loopback-only
 *   api_keys: /etc/infergate/keys.json
 *   jwt:
 *     issuer: https://login.example.com/
 *     audience: infergate
 *     jwks_url: https://login.example.com/.well-known/jwks.json   # or keys: [{kid, alg, file}]
 *     algorithms: [RS256]
 *     clock_skew_seconds: 60
 *     scope_claim: scope          # tenant_claim, models_claim
 *   mtls:                         # client-certificate identity (CN or SPIFFE URI) → principal
 *     billing-service: { scopes: [infer], tenant: billing }
 *   tenants:
 *     billing: { models: ["billing-*"] }
 *   rate_limits:
 *     default: { rate: 100, burst: 200 }
 *     redis: redis://127.0.0.1:6379   # shared by replicas; per-replica buckets while it is down
 *     redis_file: /run/secrets/redis-url   # or: the URL (with its password) read from a file
 *   audit_log: /var/log/infergate/audit.jsonl
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parse } from 'yaml';
import { z } from 'zod';

const scopes = z.array(z.enum(['infer', 'read', 'admin']));
const limit = z.object({ rate: z.number().positive(), burst: z.number().int().positive() });
const principal = z.object({
  scopes,
  tenant: z.string().min(1).optional(),
  models: z.array(z.string().min(1)).optional(),
  rate_limit: limit.optional(),
});

export const AuthConfigSchema = z
  .object({
    mode: z.enum(['off', 'required']).default('off'),
    api_keys: z.string().min(1).optional(),
    jwt: z
      .object({
        issuer: z.union([z.string(), z.array(z.string())]).optional(),
        audience: z.union([z.string(), z.array(z.string())]).optional(),
        jwks_url: z.string().url().optional(),
        keys: z
          .array(z.object({ kid: z.string().optional(), alg: z.string().min(2), file: z.string().min(1) }))
          .optional(),
        algorithms: z.array(z.string().min(2)).optional(),
        clock_skew_seconds: z.number().nonnegative().max(600).default(60),
        scope_claim: z.string().optional(),
        tenant_claim: z.string().optional(),
        models_claim: z.string().optional(),
      })
      .strict()
      .optional(),
    mtls: z.record(z.string(), principal).optional(),
    tenants: z.record(z.string(), z.object({ models: z.array(z.string().min(1)) }).strict()).optional(),
    rate_limits: z
      .object({
        default: limit.optional(),
        redis: z.string().min(1).optional(),
        redis_file: z.string().min(1).optional(),
      })
      .strict()
      .optional(),
    audit_log: z.string().min(1).optional(),
  })
  .strict();

export type AuthConfig = z.infer<typeof AuthConfigSchema>;

/** Reads and validates the file; relative paths inside it are relative to the file. */
export function loadAuthConfig(path: string): AuthConfig {
  let doc: unknown;
  try {
    doc = parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new Error(`auth config ${path}: ${(err as Error).message}`);
  }
  const r = AuthConfigSchema.safeParse(doc ?? {});
  if (!r.success) {
    const first = r.error.issues[0];
    throw new Error(`auth config ${path}: ${first?.path.join('.') || '(root)'}: ${first?.message}`);
  }
  const base = dirname(resolve(path));
  const at = (p: string | undefined) => (p === undefined ? undefined : resolve(base, p));
  const c = r.data;
  const redisFile = at(c.rate_limits?.redis_file);
  return {
    ...c,
    rate_limits: c.rate_limits && {
      ...c.rate_limits,
      redis: c.rate_limits.redis ?? (redisFile === undefined ? undefined : readFileSync(redisFile, 'utf8').trim()),
    },
    api_keys: at(c.api_keys),
    audit_log: at(c.audit_log),
    jwt: c.jwt && { ...c.jwt, keys: c.jwt.keys?.map((k) => ({ ...k, file: at(k.file) as string })) },
  };
}
