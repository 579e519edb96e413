/**
 * Test harness: a real loopback gRPC server on an ephemeral port over the real services
 * (../real-services.ts, models below), and a grpc-js client built from the same protobuf-es
 * descriptors.
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
import { DATATYPES, invalidArg, type Tensor } from '../../../../src/core/index.js';
import { createGrpcServer, type GrpcServer, type GrpcServerOptions } from '../../../../src/protocol/grpc/server.js';
import { serviceDefinition } from '../../../../src/protocol/grpc/service-definition.js';
import type { Services } from '../../../../src/router/types.js';
import { echoModel, echoName, type ModelDef, type RealServices, startRealServices } from '../real-services.js';

export { echoName };

/** Output data that throws (with internals in its text) on any read: a backend bug. */
const POISON = new Proxy(
  {},
  {
    get() {
      throw new Error('secret internal detail /etc/passwd');
    },
  },
);

/**
 * The models every gRPC test file serves:
 *   echo          INPUT0 FP32 [-1,16], dynamic batching, 2 instances (metadata, config, statistics)
 *   echo_<dt>     INPUT0 → OUTPUT0 for every datatype, shape [-1]
 *   two           A, B INT32 [-1] → OA, OB
 *   fail          the model raises INVALID_ARG "model says no"
 *   boom          the model returns output data that throws on any read
 *   delay         echo_int32 taking 40 ms; slow: 300 ms; stuck: a minute (one instance each)
 *   notready      loaded, then unloaded: known, not ready
 *   never_loaded  on disk, never loaded; unloadable: on disk, fails to load
 *   a, b          loaded, for unload; m: in-memory only (RepositoryModelLoad with files)
 */
export const GRPC_MODELS: ModelDef[] = [
  echoModel('echo', 'FP32', [16], {
    maxBatchSize: 8,
    instances: 2,
    config: { dynamic_batching: { max_queue_delay_microseconds: 100, preferred_batch_size: [4, 8] } },
  }),
  ...DATATYPES.map((dt) => echoModel(echoName(dt), dt, [-1])),
  {
    name: 'two',
    inputs: [
      { name: 'A', datatype: 'INT32', dims: [-1] },
      { name: 'B', datatype: 'INT32', dims: [-1] },
    ],
    outputs: [
      { name: 'OA', datatype: 'INT32', dims: [-1] },
      { name: 'OB', datatype: 'INT32', dims: [-1] },
    ],
  },
  echoModel('fail', 'INT32', [-1], {
    compute: () => {
      throw invalidArg('model says no');
    },
  }),
  echoModel('boom', 'INT32', [-1], {
    compute: (): Tensor[] => [{ name: 'OUTPUT0', datatype: 'INT32', shape: [1], data: POISON as Int32Array }],
  }),
  echoModel('delay', 'INT32', [-1], { delayMs: 40 }),
  echoModel('slow', 'INT32', [-1], { delayMs: 300 }),
  echoModel('stuck', 'INT32', [-1], { delayMs: 60_000 }),
  echoModel('notready', 'INT32', [-1]),
  echoModel('never_loaded', 'INT32', [-1], { load: false }),
  echoModel('unloadable', 'INT32', [-1], { load: false, versions: { 1: 'broken' } }),
  echoModel('a', 'INT32', [-1]),
  echoModel('b', 'INT32', [-1]),
  echoModel('m', 'INT32', [2], { memoryOnly: true }),
];

type Methods = (typeof GRPCInferenceService)['method'];
type UnaryName = { [K in keyof Methods]: Methods[K]['methodKind'] extends 'unary' ? K : never }[keyof Methods];

type UnaryFn = (
  req: unknown,
  meta: Metadata,
  opts: CallOptions,
  cb: (err: ServiceError | null, res?: unknown) => void,
) => unknown;

export interface Harness {
  real: RealServices;
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

/**
 * Starts a server over fresh real services and connects clients to it. `wrap` is only for what
 * the real services cannot be made to do (each use says why).
 */
export async function startHarness(
  options: GrpcServerOptions = {},
  wrap: (s: Services) => Services = (s) => s,
): Promise<Harness> {
  const real = await startRealServices(GRPC_MODELS, { unload: ['notready'] });
  const server = createGrpcServer(wrap(real.services), options);
  const port = await server.listen(0);
  const address = `127.0.0.1:${port}`;
  const Infer = makeGenericClientConstructor(serviceDefinition(GRPCInferenceService), 'inference.GRPCInferenceService');
  const HealthClient = makeGenericClientConstructor(serviceDefinition(Health), 'grpc.health.v1.Health');
  const client = new Infer(address, credentials.createInsecure(), CLIENT_OPTIONS);
  const health = new HealthClient(address, credentials.createInsecure());
  return {
    real,
    server,
    client,
    health,
    port,
    call: (method, req, opts) => invoke(client, method, req, opts),
    async close() {
      client.close();
      health.close();
      await server.close();
      await real.cleanup();
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
