/**
 * Test harness: a real loopback gRPC server on an ephemeral port over a FakeService, and a
 * grpc-js client built from the same protobuf-es descriptors.
 */
import type { DescMessage, MessageInitShape, MessageShape } from '@bufbuild/protobuf';
import {
  type CallOptions,
  type Client,
  credentials,
  makeGenericClientConstructor,
  Metadata,
  type ServiceError,
} from '@grpc/grpc-js';
import { GRPCInferenceService } from '../../../../src/gen/grpc_service_pb.js';
import { Health } from '../../../../src/gen/health_pb.js';
import { createGrpcServer, type GrpcServer, type GrpcServerOptions } from '../../../../src/protocol/grpc/server.js';
import { serviceDefinition } from '../../../../src/protocol/grpc/service-definition.js';
import { FakeService } from './fake-service.js';

type Methods = (typeof GRPCInferenceService)['method'];
type UnaryName = { [K in keyof Methods]: Methods[K]['methodKind'] extends 'unary' ? K : never }[keyof Methods];

type UnaryFn = (
  req: unknown,
  meta: Metadata,
  opts: CallOptions,
  cb: (err: ServiceError | null, res?: unknown) => void,
) => unknown;

export interface Harness {
  fake: FakeService;
  server: GrpcServer;
  client: Client;
  health: Client;
  port: number;
  /** Calls a unary rpc of the inference service; rejects with the ServiceError. */
  call<K extends UnaryName>(
    method: K,
    req: MessageInitShape<Methods[K]['input']>,
    opts?: CallOptions,
  ): Promise<MessageShape<Methods[K]['output']>>;
  close(): Promise<void>;
}

const CLIENT_OPTIONS = { 'grpc.max_receive_message_length': -1, 'grpc.max_send_message_length': -1 };

/** Invokes a method of a generic client by name. */
export function invoke<O extends DescMessage>(
  client: Client,
  method: string,
  req: unknown,
  opts: CallOptions = {},
): Promise<MessageShape<O>> {
  const fn = (client as unknown as Record<string, UnaryFn>)[method];
  if (!fn) throw new Error(`no client method ${method}`);
  return new Promise((resolve, reject) => {
    fn.call(client, req, new Metadata(), opts, (err, res) => (err ? reject(err) : resolve(res as MessageShape<O>)));
  });
}

/** Starts a server over a fresh FakeService and connects clients to it. */
export async function startHarness(options: GrpcServerOptions = {}): Promise<Harness> {
  const fake = new FakeService();
  const server = createGrpcServer(fake, options);
  const port = await server.listen(0);
  const address = `127.0.0.1:${port}`;
  const Infer = makeGenericClientConstructor(serviceDefinition(GRPCInferenceService), 'inference.GRPCInferenceService');
  const HealthClient = makeGenericClientConstructor(serviceDefinition(Health), 'grpc.health.v1.Health');
  const client = new Infer(address, credentials.createInsecure(), CLIENT_OPTIONS);
  const health = new HealthClient(address, credentials.createInsecure());
  return {
    fake,
    server,
    client,
    health,
    port,
    call: (method, req, opts) => invoke(client, method, req, opts),
    async close() {
      client.close();
      health.close();
      await server.close();
    },
  };
}

/** Awaits a rejected call and returns its ServiceError. */
export async function grpcError(p: Promise<unknown>): Promise<ServiceError> {
  try {
    await p;
  } catch (err) {
    return err as ServiceError;
  }
  throw new Error('expected the call to fail');
}
