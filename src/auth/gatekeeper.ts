/**
 * The gatekeeper: credentials → principal (API key, bearer JWT, mTLS certificate), and the one
 * authorization decision every route uses (scope, model visibility by tenant and allow-list).
 *
 * With auth off (the default, for local use) a caller without credentials may infer and read, and
 * administer only from loopback: to anyone else the control surface does not exist (404, S13).
 * Credentials that are presented are always checked, in either mode. Every refusal is one
 * identical 401 to the client (S16); the reason goes to `onDenied` (the log and audit trail).
 */
import { InferError, notFound, type Principal, type Scope } from '../core/index.js';
import type { ApiKeyStore } from './api-keys.js';
import { matchesAny } from './globs.js';
import type { JwtVerifier } from './jwt.js';
import type { AuthRequest, Gatekeeper, PeerCertificate } from './types.js';

/** A principal described in configuration (mTLS identities). */
export interface PrincipalSpec {
  scopes: Scope[];
  tenant?: string;
  models?: string[];
  rateLimit?: { rate: number; burst: number };
}

export interface GatekeeperOptions {
  mode: 'off' | 'required';
  apiKeys?: ApiKeyStore;
  jwt?: JwtVerifier;
  /** Client-certificate identity (CN or URI SAN) → principal. */
  mtls?: Record<string, PrincipalSpec>;
  /** Tenant → the model globs it owns. */
  tenants?: Record<string, { models: string[] }>;
  /** Reads a certificate's identity (protocol/common/tls.ts). */
  certificateIdentity?: (cert: PeerCertificate) => string | undefined;
  now?: () => number;
  /** Every refused authentication or authorization, with why (never shown to the client). */
  onDenied?: (e: DeniedEvent) => void;
}

export interface DeniedEvent {
  kind: 'authentication' | 'authorization';
  reason: string;
  principal?: string;
  remoteAddress?: string;
  scope?: Scope;
  model?: string;
}

/** The one 401 text, whatever was wrong. */
export const UNAUTHENTICATED_TEXT = 'authentication required: send a valid API key (x-api-key) or bearer token';

function unauthenticated(): InferError {
  return new InferError('IG_ERR_UNAUTHENTICATED', UNAUTHENTICATED_TEXT, {
    headers: { 'www-authenticate': 'Bearer realm="infergate"' },
  });
}

const LOCAL_ALL: Principal = Object.freeze({
  id: 'local',
  kind: 'anonymous',
  scopes: Object.freeze(['infer', 'read', 'admin']) as readonly Scope[],
});
const OPEN: Principal = Object.freeze({
  id: 'anonymous',
  kind: 'anonymous',
  scopes: Object.freeze(['infer', 'read']) as readonly Scope[],
});

/** Loopback in every spelling Node reports (IPv4, IPv6, IPv4-mapped IPv6). */
export function isLoopback(address: string | undefined): boolean {
  if (!address) return false;
  const a = address.startsWith('::ffff:') ? address.slice(7) : address;
  return a === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(a);
}

function header(req: AuthRequest, name: string): string | undefined {
  const v = req.headers[name];
  return typeof v === 'string' ? v : Array.isArray(v) ? v[0] : undefined;
}

export class DefaultGatekeeper implements Gatekeeper {
  readonly mode: 'off' | 'required';
  private readonly now: () => number;

  constructor(private readonly o: GatekeeperOptions) {
    this.mode = o.mode;
    this.now = o.now ?? Date.now;
  }

  authenticate(req: AuthRequest): Principal | Promise<Principal> {
    const bearer = /^Bearer\s+(\S+)\s*$/i.exec(header(req, 'authorization') ?? '')?.[1];
    const apiKey = header(req, 'x-api-key') ?? (bearer?.startsWith('igk_') ? bearer : undefined);
    if (apiKey !== undefined) return this.byKey(apiKey, req);
    if (bearer !== undefined) return this.byJwt(bearer, req);
    if (header(req, 'authorization') !== undefined) return this.refuse(req, 'unsupported Authorization scheme');
    const cert = req.peerCertificate && this.byCertificate(req.peerCertificate);
    if (cert) return cert;
    if (this.mode === 'required') return this.refuse(req, 'no credentials');
    return isLoopback(req.remoteAddress) ? LOCAL_ALL : OPEN;
  }

  authorize(principal: Principal, scope: Scope, model?: string): void {
    if (model !== undefined && !this.visible(principal, model)) {
      this.o.onDenied?.({ kind: 'authorization', reason: 'model not visible', principal: principal.id, scope, model });
      throw notFound.model(model);
    }
    if (principal.scopes.includes(scope)) return;
    this.o.onDenied?.({
      kind: 'authorization',
      reason: `missing scope ${scope}`,
      principal: principal.id,
      scope,
      model,
    });
    // Without auth, the control surface exists only for loopback callers (S13).
    if (scope === 'admin' && principal.kind === 'anonymous' && this.mode === 'off')
      throw new InferError('IG_ERR_ROUTE_NOT_FOUND', 'Not Found');
    throw new InferError('IG_ERR_FORBIDDEN', `the '${scope}' scope is required`);
  }

  visible(principal: Principal, model: string): boolean {
    if (principal.models && !matchesAny(model, principal.models)) return false;
    if (principal.tenant === undefined) return true;
    const owned = this.o.tenants?.[principal.tenant]?.models;
    return owned !== undefined && matchesAny(model, owned);
  }

  private byKey(presented: string, req: AuthRequest): Principal {
    if (!this.o.apiKeys) return this.refuse(req, 'API keys are not configured');
    const r = this.o.apiKeys.verify(presented);
    return typeof r === 'string' ? this.refuse(req, `API key ${r}`, keyPrefix(presented)) : r;
  }

  private async byJwt(token: string, req: AuthRequest): Promise<Principal> {
    if (!this.o.jwt) return this.refuse(req, 'bearer tokens are not configured');
    const r = await this.o.jwt.verify(token, this.now());
    return 'refused' in r ? this.refuse(req, r.refused) : r;
  }

  private byCertificate(cert: PeerCertificate): Principal | undefined {
    const id = this.o.certificateIdentity?.(cert) ?? cert.subject?.CN;
    const spec = id === undefined ? undefined : this.o.mtls?.[id];
    return spec && { id: `mtls:${id}`, kind: 'mtls', ...spec };
  }

  private refuse(req: AuthRequest, reason: string, principal?: string): never {
    this.o.onDenied?.({ kind: 'authentication', reason, principal, remoteAddress: req.remoteAddress });
    throw unauthenticated();
  }
}

/** `key:<prefix>` of a presented key, for the audit trail (never the secret). */
function keyPrefix(presented: string): string | undefined {
  const m = /^igk_([a-z2-7]{8})_/.exec(presented);
  return m ? `key:${m[1]}` : undefined;
}
