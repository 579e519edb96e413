/**
 * Security's part of the composition root: the gatekeeper (API keys, JWT, mTLS identities,
 * tenants), the rate limiter (per replica, or shared through Redis), and the audit trail (a
 * hash-chained file, the registry's audit table, or the log), from flags and the auth config file.
 */
import { readFileSync } from 'node:fs';
import { ApiKeyStore } from '../auth/api-keys.js';
import { type AuthConfig, loadAuthConfig } from '../auth/config.js';
import { DefaultGatekeeper, type DeniedEvent, type PrincipalSpec } from '../auth/gatekeeper.js';
import { JwtVerifier } from '../auth/jwt.js';
import { RedisRateLimiter } from '../auth/redis-limiter.js';
import { TokenBuckets } from '../auth/token-bucket.js';
import type { Gatekeeper, RateLimiter } from '../auth/types.js';
import { FileAuditLog } from '../audit/file-log.js';
import { RegistryAuditLog } from '../audit/registry-log.js';
import { ThrottledAudit } from '../audit/throttle.js';
import type { AuditSink, SecurityEvent } from '../audit/types.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { certificateIdentity } from '../protocol/common/tls.js';
import type { RegistryStore } from '../registry/types.js';
import type { ServerOptions } from './options.js';

export interface ServerAuth {
  gatekeeper: Gatekeeper;
  limiter: RateLimiter;
  defaultLimit?: { rate: number; burst: number };
  audit: AuditSink;
  /** One line for the start-up log: what is protected and how. */
  summary: string;
  close(): Promise<void>;
}

/** The audit sink when none is configured: each event as one log line (not hash-chained). */
function logAudit(logger: Logger): AuditSink {
  return {
    record: (e) => logger.info({ audit: e }, `audit: ${e.action} ${e.actor} ${e.route ?? ''} ${e.outcome}`),
    flush: async () => undefined,
    close: async () => undefined,
  };
}

function auditSink(o: ServerOptions, config: AuthConfig, store: RegistryStore | undefined, logger: Logger) {
  const onError = (err: unknown) => logger.error({ err: (err as Error).message }, 'writing the audit trail failed');
  const file = o.auditLog ?? config.audit_log;
  if (file) return { sink: new FileAuditLog(file, Date.now, onError), where: `audit trail ${file}` };
  if (store)
    return { sink: new RegistryAuditLog(store, onError), where: `audit trail in the registry (${store.location})` };
  return { sink: logAudit(logger), where: 'audit events in the log (set --audit-log FILE for a hash-chained trail)' };
}

export function openServerAuth(
  o: ServerOptions,
  deps: { logger: Logger; metrics?: Pick<Metrics, 'countDenied'>; registryStore?: RegistryStore },
): ServerAuth {
  const config: AuthConfig = o.authConfig ? loadAuthConfig(o.authConfig) : { mode: 'off' };
  const mode = o.auth ?? config.mode;
  const { sink, where } = auditSink(o, config, deps.registryStore, deps.logger);
  const audit = new ThrottledAudit(sink);
  const onDenied = (e: DeniedEvent) => {
    deps.metrics?.countDenied(e.kind);
    deps.logger.debug?.({ denied: e }, `denied (${e.kind}): ${e.reason}`);
    audit.record(deniedEvent(e));
  };
  const keysFile = o.apiKeys ?? config.api_keys;
  const jwt = config.jwt;
  const gatekeeper = new DefaultGatekeeper({
    mode,
    apiKeys: keysFile ? new ApiKeyStore(keysFile) : undefined,
    jwt:
      jwt &&
      new JwtVerifier({
        issuer: jwt.issuer,
        audience: jwt.audience,
        keys: jwt.keys,
        jwksUrl: jwt.jwks_url,
        algorithms: jwt.algorithms,
        clockSkewSeconds: jwt.clock_skew_seconds,
        scopeClaim: jwt.scope_claim,
        tenantClaim: jwt.tenant_claim,
        modelsClaim: jwt.models_claim,
      }),
    mtls: config.mtls && Object.fromEntries(Object.entries(config.mtls).map(([id, p]) => [id, principalSpec(p)])),
    tenants: config.tenants,
    certificateIdentity,
    onDenied,
  });
  const local = new TokenBuckets();
  const redis = o.rateLimitRedis ?? config.rate_limits?.redis ?? secretFromEnv('INFERGATE_RATE_LIMIT_REDIS');
  const limiter: RateLimiter = redis
    ? new RedisRateLimiter({
        url: redis,
        fallback: local,
        onDegraded: (d) =>
          d
            ? deps.logger.warn('rate limiter: Redis unreachable, limiting per replica until it returns')
            : deps.logger.info('rate limiter: Redis reachable again, limits are shared'),
      })
    : local;
  const defaultLimit = o.rateLimit ?? config.rate_limits?.default;
  const credentials = [keysFile && 'API keys', jwt && 'JWT', config.mtls && 'mTLS identities'].filter(Boolean);
  const summary =
    mode === 'required'
      ? `auth required (${credentials.join(', ') || 'no credential source configured: every call is refused'}); ${where}`
      : 'auth off: inference and reads are open, the control surface answers loopback callers only (--auth required to lock)';
  return {
    gatekeeper,
    limiter,
    defaultLimit,
    audit,
    summary,
    async close() {
      await audit.close();
      await limiter.close();
    },
  };
}

/** `NAME` from the environment, or the content of the file `NAME_FILE` names (container secrets). */
export function secretFromEnv(name: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const file = env[`${name}_FILE`];
  if (file) return readFileSync(file, 'utf8').trim();
  return env[name] || undefined;
}

function principalSpec(p: NonNullable<AuthConfig['mtls']>[string]): PrincipalSpec {
  return { scopes: p.scopes, tenant: p.tenant, models: p.models, rateLimit: p.rate_limit };
}

function deniedEvent(e: DeniedEvent): SecurityEvent {
  return {
    action: 'security.denied',
    actor: e.principal ?? 'unknown',
    model: e.model,
    remoteAddress: e.remoteAddress,
    outcome: e.kind === 'authentication' ? '401' : e.reason === 'model not visible' ? '404' : '403',
    reason: e.reason,
  };
}
