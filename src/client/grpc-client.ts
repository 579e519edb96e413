import { create, type DescMessage, fromBinary, type MessageShape, toBinary } from '@bufbuild/protobuf';
import { credentials, type Client, makeGenericClientConstructor, Metadata, type ServiceError } from '@grpc/grpc-js';
import {
  decodeBytesElements,
  elementCount,
  encodeBytesElements,
  isBytesData,
  numericFromBytes,
  type DataType,
  type Tensor,
} from '../core/index.js';
import {
  GRPCInferenceService,
  ModelInferRequestSchema,
  type ModelInferResponse,
  type ModelStreamInferResponse,
} from '../gen/grpc_service_pb.js';
import type { InferResult } from './http-client.js';

type MethodName = keyof (typeof GRPCInferenceService)['method'];

/** Builds grpc-js method definitions straight from the generated descriptors. */
function definition(): Record<string, unknown> {
  const def: Record<string, unknown> = {};
  for (const m of GRPCInferenceService.methods) {
    def[m.localName] = {
      path: `/${GRPCInferenceService.typeName}/${m.name}`,
      requestStream: m.methodKind === 'client_streaming' || m.methodKind === 'bidi_streaming',
      responseStream: m.methodKind === 'server_streaming' || m.methodKind === 'bidi_streaming',
      requestSerialize: (v: MessageShape<DescMessage>) => Buffer.from(toBinary(m.input, v)),
      requestDeserialize: (b: Buffer) => fromBinary(m.input, b),
      responseSerialize: (v: MessageShape<DescMessage>) => Buffer.from(toBinary(m.output, v)),
      responseDeserialize: (b: Buffer) => fromBinary(m.output, b),
    };
  }
  return def;
}

const Ctor = makeGenericClientConstructor(definition() as never, 'inference.GRPCInferenceService');

/** A KServe v2 gRPC client (raw_input_contents in, raw_output_contents out). */
export class GrpcClient {
  private readonly client: Client;

  constructor(address: string) {
    this.client = new Ctor(address, credentials.createInsecure(), {
      'grpc.max_receive_message_length': -1,
      'grpc.max_send_message_length': -1,
    });
  }

  /** Calls any unary rpc by its method name with a message built by the caller. */
  call<T>(
    method: MethodName,
    req: unknown,
    options: { deadline?: number; metadata?: Record<string, string> } = {},
  ): Promise<T> {
    type Unary = (r: unknown, m: Metadata, o: object, cb: (err: ServiceError | null, res: T) => void) => void;
    const fn = (this.client as unknown as Record<string, Unary>)[method as string]!;
    const md = new Metadata();
    for (const [k, v] of Object.entries(options.metadata ?? {})) md.set(k, v);
    const callOptions = options.deadline === undefined ? {} : { deadline: options.deadline };
    return new Promise((resolve, reject) => {
      fn.call(this.client, req, md, callOptions, (err, res) => (err ? reject(err) : resolve(res)));
    });
  }

  /** Runs one inference request. */
  async infer(model: string, inputs: Tensor[], o: InferCallOptions = {}) {
    const res = await this.call<ModelInferResponse>('modelInfer', inferRequest(model, inputs, o), {
      metadata: o.metadata,
    });
    return decode(res);
  }

  /**
   * Sends several requests on one ModelStreamInfer stream and collects one answer per request, in
   * order: a decoded result, or the in-band error message.
   */
  streamInfer(
    model: string,
    requests: Tensor[][],
    o: { metadata?: Record<string, string> } = {},
  ): Promise<Array<InferResult | string>> {
    type Duplex = { write(m: unknown): void; end(): void; on(e: string, f: (x: never) => void): void };
    const md = new Metadata();
    for (const [k, v] of Object.entries(o.metadata ?? {})) md.set(k, v);
    const open = (this.client as unknown as Record<string, (m: Metadata) => Duplex>)['modelStreamInfer']!;
    const stream = open.call(this.client, md);
    const answers: Array<InferResult | string> = [];
    return new Promise((resolve, reject) => {
      stream.on('data', (m: ModelStreamInferResponse) => {
        answers.push(m.errorMessage ? m.errorMessage : decode(m.inferResponse!));
        if (answers.length === requests.length) stream.end();
      });
      stream.on('error', (err: Error) => reject(err));
      stream.on('end', () => resolve(answers));
      requests.forEach((inputs, i) => {
        stream.write(inferRequest(model, inputs, { id: String(i) }));
      });
    });
  }

  /** Closes the channel. */
  close(): void {
    this.client.close();
  }
}

/** Options of one gRPC inference call. */
export interface InferCallOptions {
  version?: string;
  id?: string;
  outputs?: string[];
  metadata?: Record<string, string>;
}

function inferRequest(model: string, inputs: Tensor[], o: InferCallOptions) {
  return create(ModelInferRequestSchema, {
    modelName: model,
    modelVersion: o.version ?? '',
    id: o.id ?? '',
    inputs: inputs.map((t) => ({ name: t.name, datatype: t.datatype, shape: t.shape.map(BigInt) })),
    outputs: (o.outputs ?? []).map((name) => ({ name })),
    rawInputContents: inputs.map((t) =>
      isBytesData(t.data)
        ? encodeBytesElements(t.data)
        : new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength),
    ),
  });
}

function decode(res: ModelInferResponse): InferResult {
  const outputs = res.outputs.map((o, i): Tensor => {
    const shape = o.shape.map(Number);
    const raw = res.rawOutputContents[i] ?? new Uint8Array(0);
    const dt = o.datatype as DataType;
    if (dt === 'BYTES') {
      const items = decodeBytesElements(raw, elementCount(shape));
      if (typeof items === 'string') throw new Error(`output '${o.name}': ${items}`);
      return { name: o.name, datatype: dt, shape, data: items };
    }
    return { name: o.name, datatype: dt, shape, data: numericFromBytes(dt, raw) };
  });
  const r: InferResult = { model: res.modelName, version: res.modelVersion, outputs };
  if (res.id) r.id = res.id;
  return r;
}
