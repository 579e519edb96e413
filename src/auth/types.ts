/**
 * The auth seams. A transport turns credentials into a `Principal` (Gatekeeper.authenticate),
 * then every route is authorized once (Gatekeeper.authorize: protocol/ for the control surface and
 * metadata, the router's `admit` stage for inference), and inference is metered per principal
 * (RateLimiter). Implementations: gatekeeper.ts (API keys, JWT, mTLS, the auth-off local mode),
 * token-bucket.ts (per replica) and redis-limiter.ts (shared by replicas).
 */
import type { Principal, Scope } from '../core/index.js';

/** What a transport knows about a call's credentials. Headers lower-cased, as Node gives them. */
export interface AuthRequest {
  headers: Readonly<Record<string, string | readonly string[] | undefined>>;
  /** The peer's IP address (no port): loopback callers may administer when auth is off. */
  remoteAddress?: string;
  /** The verified client certificate of a TLS connection (mTLS), when there is one. */
  peerCertificate?: PeerCertificate;
}

/** The parts of a verified client certificate the principal mapping reads. */
export interface PeerCertificate {
  subject?: { CN?: string; O?: string; OU?: string };
  /** `DNS:a.example, URI:spiffe://…` as Node reports it. */
  subjectaltname?: string;
  fingerprint256?: string;
}

export interface Gatekeeper {
  /** `off`: local use, the control surface answers loopback callers only; `required`: everything needs credentials. */
  readonly mode: 'off' | 'required';
  /** The caller's principal; throws IG_ERR_UNAUTHENTICATED (one identical message) when credentials are missing or bad. */
  authenticate(req: AuthRequest): Principal | Promise<Principal>;
  /**
   * Allows or throws: IG_ERR_MODEL_NOT_FOUND (Triton's text) when the model is not visible to the
   * principal, indistinguishable from a model that does not exist; IG_ERR_FORBIDDEN naming the
   * scope when it lacks it. Visibility is checked first, so a principal learns nothing about
   * models outside its tenant.
   */
  authorize(principal: Principal, scope: Scope, model?: string): void;
  /** Whether a model exists for this principal (filters lists such as the repository index). */
  visible(principal: Principal, model: string): boolean;
}

/** The answer of a rate limiter. */
export type Admission = { ok: true } | { ok: false; retryAfterMs: number };

/**
 * Token buckets per key (a principal id). `take` never throws and never waits on the network for
 * longer than its own timeout: a shared limiter whose store is down answers from a local bucket.
 */
export interface RateLimiter {
  take(key: string, limit: { rate: number; burst: number }, cost?: number): Admission | Promise<Admission>;
  /** True while a shared limiter is answering from its local fallback (a metric exports it). */
  degraded(): boolean;
  close(): Promise<void>;
}
