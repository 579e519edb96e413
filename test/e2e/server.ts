// Starts the real server (real onnxruntime workers) in-process on ephemeral loopback ports.
import { execFileSync } from 'node:child_process';
import { HttpClient } from '../../src/client/http-client.js';
import { GrpcClient } from '../../src/client/grpc-client.js';
import { type RunningServer, type ServerDeps, startServer } from '../../src/server/server.js';
import type { ServerOptionsInput } from '../../src/server/options.js';

/** A started server with clients pointed at it. */
export interface TestServer {
  server: RunningServer;
  http: HttpClient;
  grpc: GrpcClient;
  httpAddress: string;
  grpcAddress: string;
  close(): Promise<void>;
}

let examplesBuilt = false;

/** Builds the example models once per process (fast when they are up to date). */
export function ensureExamples(): void {
  if (examplesBuilt) return;
  execFileSync(process.execPath, ['--import', 'tsx', 'scripts/build-examples.ts'], { stdio: 'inherit' });
  examplesBuilt = true;
}

/** Starts a server on `repository` (default: the bundled examples) with silent logs. */
export async function startTestServer(
  options: Partial<ServerOptionsInput> = {},
  deps: ServerDeps = {},
): Promise<TestServer> {
  if (!options.repository) ensureExamples();
  const server = await startServer(
    {
      repository: 'examples/models',
      httpPort: 0,
      grpcPort: 0,
      metricsPort: 0,
      logLevel: 'silent',
      exitTimeoutSeconds: 10,
      // Tests stop servers nobody balances load to: no drain period.
      drainSeconds: 0,
      ...options,
    },
    deps,
  );
  const httpAddress = `127.0.0.1:${server.httpPort}`;
  const grpcAddress = `127.0.0.1:${server.grpcPort}`;
  const http = new HttpClient(`http://${httpAddress}`);
  const grpc = new GrpcClient(grpcAddress);
  return {
    server,
    http,
    grpc,
    httpAddress,
    grpcAddress,
    async close() {
      grpc.close();
      await http.close();
      await server.stop();
    },
  };
}
