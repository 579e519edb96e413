/**
 * TLS for both listeners from `--tls-cert/--tls-key[/--tls-ca --tls-require-client-cert]`: one
 * policy (TLS 1.2+, AEAD suites only), one reloader that swaps certificates in place on HTTP and
 * gRPC when the files change (a broken new pair is reported and the old one kept).
 */
import type { Server as HttpsServer, ServerOptions as HttpsOptions } from 'node:https';
import type { Server } from 'node:net';
import type { Logger } from '../observability/logger.js';
import {
  grpcServerCredentials,
  httpsOptions,
  type ReloadableServerCredentials,
  type TlsFiles,
  TlsReloader,
} from '../protocol/common/tls.js';
import type { ServerOptions } from './options.js';

export interface ServerTls {
  https: HttpsOptions;
  grpc: ReloadableServerCredentials;
  /** Starts watching the files; certificates then also rotate on this HTTPS server. */
  watch(server: Server | undefined): void;
  summary: string;
  close(): void;
}

export function openServerTls(o: ServerOptions, logger: Logger): ServerTls | undefined {
  if (!o.tlsCert && !o.tlsKey) return undefined;
  if (!o.tlsCert || !o.tlsKey) throw new Error('TLS needs both --tls-cert and --tls-key');
  if (o.tlsRequireClientCert && !o.tlsCa)
    throw new Error('--tls-require-client-cert needs --tls-ca (the CA of client certificates)');
  const files: TlsFiles = { cert: o.tlsCert, key: o.tlsKey, ca: o.tlsCa, requireClientCert: o.tlsRequireClientCert };
  const https = httpsOptions(files);
  const grpc = grpcServerCredentials(files);
  let reloader: TlsReloader | undefined;
  return {
    https,
    grpc,
    watch(server) {
      reloader = new TlsReloader(files, server ? [grpc, server as HttpsServer] : [grpc], {
        onReload: () => logger.info('TLS certificate reloaded'),
        onError: (err) =>
          logger.error({ err: (err as Error).message }, 'new TLS certificate refused; keeping the old one'),
      });
    },
    summary: `TLS on HTTP and gRPC (TLS 1.2+, AEAD suites)${o.tlsRequireClientCert ? ', client certificates required' : o.tlsCa ? ', client certificates optional' : ''}`,
    close() {
      reloader?.close();
    },
  };
}
