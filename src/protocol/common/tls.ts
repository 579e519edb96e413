/**
 * TLS and mTLS for both listeners (issue #14 item 5, reliability.md S21): one policy (TLS 1.2+,
 * ECDHE + AEAD only), the options fastify's `https` takes, gRPC server credentials that carry the
 * same policy, certificate rotation without a restart, and the identity a client certificate names.
 *
 * What grpc-js 1.14.7 offers, read from its source (server-credentials.ts, server.ts):
 * - `ServerCredentials.createSsl` takes no TLS options: ciphers come only from the process-wide
 *   GRPC_SSL_CIPHER_SUITES variable (read once at import, shared with every client channel), and
 *   there is no minVersion (Node's default, TLSv1.2, applies unless Node runs with --tls-min-v1.x).
 *   It also cannot rotate: its context is fixed at bind time. And with `rootCerts` null and
 *   client checking on, client certificates are verified against the public roots.
 * - The experimental FileWatcherCertificateProvider rotates, but the server then calls
 *   `setSecureContext({ca, cert, key})`, and Node's setSecureContext resets every option it is
 *   not given: the cipher restriction is lost at the first rotation.
 * - What does work: the server builds its http2 secure server from the credentials'
 *   `_getConstructorOptions()` merged with `_getSecureContextOptions()`, and re-applies the latter
 *   with `setSecureContext` whenever a subclass calls the protected `updateSecureContextOptions`
 *   (the hook grpc-js's own certificate-provider credentials use). {@link grpcServerCredentials}
 *   subclasses `ServerCredentials` that way, so gRPC gets the full policy on every context and
 *   rotates in place with {@link TlsReloader}, like HTTPS. The cost: those `_`-prefixed members are
 *   grpc-js internals; the gRPC cases in test/unit/protocol/tls.test.ts fail if an upgrade moves them,
 *   and the fallback then is `createSsl` plus GRPC_SSL_CIPHER_SUITES, with rotation by restart.
 * - grpc-js validates nothing before `setSecureContext`: a context that throws there marks the
 *   credentials invalid and the server drops every new connection. The reloader therefore only
 *   hands over contexts that `tls.createSecureContext` already accepted.
 */
import { readFileSync, unwatchFile, watchFile } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createHash, createPrivateKey, X509Certificate } from 'node:crypto';
import type * as https from 'node:https';
import * as tls from 'node:tls';
import { ServerCredentials } from '@grpc/grpc-js';
import type { PeerCertificate } from '../../auth/types.js';

/** Paths of the PEM files a listener serves. */
export interface TlsFiles {
  /** The server certificate, optionally followed by its intermediates. */
  cert: string;
  key: string;
  /** CA bundle client certificates are verified against (mTLS). */
  ca?: string;
  /**
   * Refuse handshakes without a valid client certificate. Without it but with `ca`, certificates
   * are asked for and verified but optional: callers without one use other credentials, and an
   * invalid one yields no identity ({@link peerCertificateOf} checks `authorized`).
   */
  requireClientCert?: boolean;
}

/**
 * TLS 1.3 suites are all AEAD; listing OpenSSL's defaults keeps them whatever Node does with a
 * cipher string that names none. TLS 1.2: forward secrecy (ECDHE) and AEAD (GCM, ChaCha20-Poly1305)
 * only, Mozilla's "intermediate" order without the DHE suites, so CBC/SHA1/static-RSA are refused.
 */
const TLS13_SUITES = ['TLS_AES_128_GCM_SHA256', 'TLS_AES_256_GCM_SHA384', 'TLS_CHACHA20_POLY1305_SHA256'];
const TLS12_SUITES = [
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
];

/**
 * The protocol policy, part of every secure context we build. It must travel with each context:
 * Node's `setSecureContext` forgets ciphers and minVersion it is not given again.
 */
export const TLS_POLICY = Object.freeze({
  minVersion: 'TLSv1.2',
  ciphers: [...TLS13_SUITES, ...TLS12_SUITES].join(':'),
  // Our order (strongest first), not the client's: a client preferring a weaker suite is overruled.
  honorCipherOrder: true,
} as const satisfies tls.SecureContextOptions);

interface Material {
  key: Buffer;
  cert: Buffer;
  ca?: Buffer;
}

function checkFiles(files: TlsFiles): void {
  // Without a CA bundle Node would verify client certificates against the public roots: any
  // certificate a public CA issued would then be a valid identity.
  if (files.requireClientCert && !files.ca) throw new Error('TLS: requireClientCert needs a ca file');
}

/** Secure-context options for some PEM material: key pair, CA, and always the policy. */
function contextOptions(m: Material): tls.SecureContextOptions {
  return { key: m.key, cert: m.cert, ...(m.ca ? { ca: m.ca } : {}), ...TLS_POLICY };
}

/**
 * Throws unless the material makes a working context. createSecureContext rejects an unreadable key
 * or certificate and, in current Node, a mismatched pair; the explicit check says which it was and
 * does not depend on that.
 */
function validate(m: Material): tls.SecureContextOptions {
  const options = contextOptions(m);
  tls.createSecureContext(options);
  const leaf = new X509Certificate(m.cert);
  if (!leaf.checkPrivateKey(createPrivateKey(m.key))) throw new Error('TLS: private key does not match certificate');
  return options;
}

/** Client-certificate handling, shared by HTTPS and gRPC so both listeners behave alike. */
function clientCertOptions(files: TlsFiles): { requestCert: boolean; rejectUnauthorized: boolean } {
  return { requestCert: Boolean(files.ca), rejectUnauthorized: Boolean(files.requireClientCert) };
}

function readSync(files: TlsFiles): Material {
  return {
    key: readFileSync(files.key),
    cert: readFileSync(files.cert),
    ...(files.ca ? { ca: readFileSync(files.ca) } : {}),
  };
}

/** What fastify's `https` option (or https.createServer) takes. Reads the files now; throws on a bad pair. */
export function httpsOptions(files: TlsFiles): https.ServerOptions {
  checkFiles(files);
  return { ...validate(readSync(files)), ...clientCertOptions(files) };
}

/** Anything whose secure context can be replaced in place: tls/https/http2 servers, our gRPC credentials. */
export interface SecureContextTarget {
  setSecureContext(options: tls.SecureContextOptions): void;
}

/**
 * gRPC server credentials carrying {@link TLS_POLICY} and replaceable in place (see the header for
 * the grpc-js hooks this relies on). Pass it to a {@link TlsReloader} to rotate gRPC certificates.
 */
export class ReloadableServerCredentials extends ServerCredentials implements SecureContextTarget {
  constructor(files: TlsFiles) {
    checkFiles(files);
    // Constructor options go to http2.createSecureServer once; requestCert/rejectUnauthorized are
    // server-level in Node and survive setSecureContext, the policy is repeated in every context.
    super({ ...TLS_POLICY, ...clientCertOptions(files) }, validate(readSync(files)));
  }

  /** Hands a new (already validated) context to every server bound with these credentials. */
  setSecureContext(options: tls.SecureContextOptions): void {
    this.updateSecureContextOptions({ ...options, ...TLS_POLICY });
  }

  // Bound ports compare credentials; each instance carries its own watched state.
  _equals(other: ServerCredentials): boolean {
    return other === this;
  }
}

/**
 * TLS credentials for a grpc-js server: what `ServerCredentials.createSsl(ca, [{private_key,
 * cert_chain}], requireClientCert)` would give, plus the policy, optional client certificates
 * (ca without requireClientCert, as for HTTPS) and in-place rotation.
 */
export function grpcServerCredentials(files: TlsFiles): ReloadableServerCredentials {
  return new ReloadableServerCredentials(files);
}

/** Options of {@link TlsReloader}. */
export interface TlsReloaderOptions {
  /** How often each file is stat()ed (default 1000 ms). */
  intervalMs?: number;
  /** Wait after the last change before reading, so a cert and key renamed in turn load as a pair (default 200 ms). */
  settleMs?: number;
  /** A new pair was applied; `fingerprint256` is the new leaf's. */
  onReload?: (info: { fingerprint256: string }) => void;
  /** A changed set of files did not load; the previous context stays. Reported once per content. */
  onError?: (err: Error) => void;
}

/**
 * Applies renewed certificate files without a restart. Polls with fs.watchFile, which stat()s the
 * path: a file replaced by rename (certbot, cert-manager's symlink swap of `..data`) shows as a new
 * inode, which an fs.watch on the old inode would miss. New handshakes use the new context; open
 * connections keep theirs.
 */
export class TlsReloader {
  private readonly targets: SecureContextTarget[];
  private readonly paths: string[];
  private readonly settleMs: number;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  /** Content hash of the material in use, and of the last one that failed (to report it once). */
  private current: string | undefined;
  private lastFailed: string | undefined;
  private running: Promise<boolean> | undefined;
  private rerun = false;
  private readonly listener = () => this.schedule();

  constructor(
    private readonly files: TlsFiles,
    targets: SecureContextTarget | readonly SecureContextTarget[],
    private readonly options: TlsReloaderOptions = {},
  ) {
    checkFiles(files);
    this.targets = Array.isArray(targets) ? [...targets] : [targets as SecureContextTarget];
    this.settleMs = options.settleMs ?? 200;
    this.paths = [files.cert, files.key, ...(files.ca ? [files.ca] : [])];
    // The targets were built from these files; hashing them now means an unchanged read is a no-op.
    this.current = digest(readSync(files));
    const interval = options.intervalMs ?? 1000;
    for (const p of this.paths) watchFile(p, { interval, persistent: false }, this.listener);
  }

  /** Also rotate this target (a server created after the reloader). */
  add(target: SecureContextTarget): void {
    this.targets.push(target);
  }

  /**
   * Re-reads the files now (a SIGHUP handler can call it); resolves true when a new context was
   * applied, false when nothing changed or the new files were refused (then onError was told).
   */
  reload(): Promise<boolean> {
    if (this.running) {
      // A change during a read must be looked at again once that read ends.
      this.rerun = true;
      return this.running;
    }
    // Never rejects: a throwing callback is not worth the process (the timer path has no awaiter).
    this.running = this.apply()
      .catch(() => false)
      .finally(() => {
        this.running = undefined;
        if (this.rerun && !this.closed) {
          this.rerun = false;
          void this.reload();
        }
      });
    return this.running;
  }

  /** Stops watching; the targets keep their current context. */
  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    for (const p of this.paths) unwatchFile(p, this.listener);
  }

  private schedule(): void {
    if (this.closed) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.reload();
    }, this.settleMs);
    this.timer.unref();
  }

  private async apply(): Promise<boolean> {
    let material: Material;
    try {
      const [key, cert, ca] = await Promise.all([
        readFile(this.files.key),
        readFile(this.files.cert),
        this.files.ca ? readFile(this.files.ca) : undefined,
      ]);
      material = { key, cert, ...(ca ? { ca } : {}) };
    } catch (err) {
      // A file missing mid-swap: the rename that completes the swap triggers another read.
      this.fail(err, undefined);
      return false;
    }
    const hash = digest(material);
    if (this.closed || hash === this.current) return false;
    let options: tls.SecureContextOptions;
    try {
      options = validate(material);
    } catch (err) {
      this.fail(err, hash);
      return false;
    }
    try {
      for (const t of this.targets) t.setSecureContext(options);
    } catch (err) {
      // Not expected after validation; reported rather than left as an unhandled rejection, which
      // would end the process.
      this.fail(err, hash);
      return false;
    }
    this.current = hash;
    this.lastFailed = undefined;
    this.options.onReload?.({ fingerprint256: new X509Certificate(material.cert).fingerprint256 });
    return true;
  }

  private fail(err: unknown, hash: string | undefined): void {
    if (hash !== undefined && hash === this.lastFailed) return;
    this.lastFailed = hash;
    const e = err instanceof Error ? err : new Error(String(err));
    this.options.onError?.(new Error(`TLS reload failed, keeping the current certificate: ${e.message}`, { cause: e }));
  }
}

function digest(m: Material): string {
  const h = createHash('sha256');
  for (const part of [m.key, m.cert, m.ca ?? Buffer.alloc(0)]) {
    h.update(String(part.length)).update(':').update(part);
  }
  return h.digest('hex');
}

/** Node's certificate object reduced to what the principal mapping reads, when there is one. */
export function toPeerCertificate(cert: tls.PeerCertificate | undefined): PeerCertificate | undefined {
  if (!cert?.raw) return undefined;
  // Node gives an array when an attribute repeats; a repeated CN names no single identity, so it
  // is dropped rather than guessed at.
  const one = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
  const s = cert.subject as unknown as Record<string, unknown> | undefined;
  const subject = s ? { CN: one(s['CN']), O: one(s['O']), OU: one(s['OU']) } : undefined;
  return {
    ...(subject ? { subject } : {}),
    ...(cert.subjectaltname ? { subjectaltname: cert.subjectaltname } : {}),
    ...(cert.fingerprint256 ? { fingerprint256: cert.fingerprint256 } : {}),
  };
}

/**
 * The verified client certificate of a connection. Only when `authorized`: with optional client
 * certificates an unverified one still reaches getPeerCertificate and must not become an identity.
 * For gRPC use `toPeerCertificate(call.getAuthContext().sslPeerCertificate)`: grpc-js fills it only
 * for authorized sockets.
 */
export function peerCertificateOf(socket: tls.TLSSocket): PeerCertificate | undefined {
  if (!socket.authorized) return undefined;
  return toPeerCertificate(socket.getPeerCertificate());
}

/**
 * Splits Node's subjectaltname ("DNS:a, URI:spiffe://x, IP Address:1.2.3.4"). Node quotes a value
 * as a JSON string when it holds a comma or quote, so a crafted SAN cannot smuggle in an entry.
 */
function sanEntries(san: string): Array<{ type: string; value: string }> {
  const out: Array<{ type: string; value: string }> = [];
  let i = 0;
  while (i < san.length) {
    const colon = san.indexOf(':', i);
    if (colon < 0) break;
    const type = san.slice(i, colon).trim();
    let j = colon + 1;
    let value: string;
    if (san[j] === '"') {
      let k = j + 1;
      while (k < san.length && san[k] !== '"') k += san[k] === '\\' ? 2 : 1;
      try {
        value = JSON.parse(san.slice(j, k + 1)) as string;
      } catch {
        return out;
      }
      j = k + 1;
    } else {
      const comma = san.indexOf(',', j);
      j = comma < 0 ? san.length : comma;
      value = san.slice(colon + 1, j);
    }
    out.push({ type, value });
    const next = san.indexOf(',', j);
    if (next < 0) break;
    i = next + 1;
  }
  return out;
}

/**
 * The identity a verified client certificate names: its SPIFFE id (the first `spiffe://` URI SAN,
 * which X.509-SVIDs make authoritative over the CN), else the subject CN, else the first URI SAN.
 * Mapping the identity to a principal is the gatekeeper's job.
 */
export function certificateIdentity(cert: PeerCertificate): string | undefined {
  const uris = cert.subjectaltname
    ? sanEntries(cert.subjectaltname)
        .filter((e) => e.type === 'URI')
        .map((e) => e.value)
    : [];
  const spiffe = uris.find((u) => u.startsWith('spiffe://'));
  if (spiffe) return spiffe;
  const cn = cert.subject?.CN;
  if (typeof cn === 'string' && cn !== '') return cn;
  return uris[0];
}
