import { create, type DescMessage, fromBinary, type MessageShape, toBinary } from '@bufbuild/protobuf';
import {
  type Client,
  type ChannelCredentials,
  credentials,
  makeGenericClientConstructor,
  Metadata,
  type ServiceError,
  status as Status,
  type StatusObject,
} from '@grpc/grpc-js';
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
import { lenField, varintSize, WireWriter } from '../protowire/writer.js';
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

/** What a unary call needs: its path and how to write the request / read the response. */
interface UnaryMethod {
  path: string;
  serialize(v: unknown): Buffer;
  deserialize(b: Buffer): unknown;
}

// Serialised bytes are handed over as a view of toBinary's output, not copied.
function asBuffer(u8: Uint8Array): Buffer {
  return Buffer.from(u8.buffer, u8.byteOffset, u8.byteLength);
}

const UNARY = new Map<string, UnaryMethod>(
  GRPCInferenceService.methods
    .filter((m) => m.methodKind === 'unary')
    .map((m) => [
      m.localName,
      {
        path: `/${GRPCInferenceService.typeName}/${m.name}`,
        serialize: (v) => asBuffer(toBinary(m.input, v as MessageShape<DescMessage>)),
        deserialize: (b) => fromBinary(m.output, b),
      },
    ]),
);

// ModelInfer takes requests already encoded by encodeInferRequest.
const MODEL_INFER: UnaryMethod = {
  ...(UNARY.get('modelInfer') as UnaryMethod),
  serialize: (b) => b as Buffer,
};

/** The error grpc-js's own unary path reports for a non-OK status (same message and fields). */
function statusError(s: StatusObject): ServiceError {
  return Object.assign(new Error(`${s.code} ${Status[s.code]}: ${s.details}`), s);
}

// Client channels: channelz bookkeeping costs every call and nothing here reads it.
const CHANNEL_OPTIONS = {
  'grpc.max_receive_message_length': -1,
  'grpc.max_send_message_length': -1,
  'grpc.enable_channelz': 0,
};

/** A KServe v2 gRPC client (raw_input_contents in, raw_output_contents out). */
export class GrpcClient {
  private readonly client: Client;
  private readonly channel: ReturnType<Client['getChannel']>;

  private readonly metadata: Record<string, string>;

  /** `metadata` goes with every call (credentials); `credentials` for TLS (default: plaintext). */
  constructor(address: string, options: { metadata?: Record<string, string>; credentials?: ChannelCredentials } = {}) {
    this.client = new Ctor(address, options.credentials ?? credentials.createInsecure(), CHANNEL_OPTIONS);
    this.channel = this.client.getChannel();
    this.metadata = options.metadata ?? {};
  }

  private md(extra: Record<string, string> | undefined): Metadata {
    const md = new Metadata();
    for (const [k, v] of Object.entries({ ...this.metadata, ...extra })) md.set(k, v);
    return md;
  }

  /** Calls any unary rpc by its method name with a message built by the caller. */
  call<T>(
    method: MethodName,
    req: unknown,
    options: { deadline?: number; metadata?: Record<string, string> } = {},
  ): Promise<T> {
    const m = UNARY.get(method as string);
    if (m === undefined) return Promise.reject(new Error(`${String(method)} is not a unary rpc`));
    return this.unary(m, req, this.md(options.metadata), options.deadline ?? Infinity) as Promise<T>;
  }

  /**
   * One unary call straight on the channel: the same calls grpc-js's makeUnaryRequest makes,
   * without its interceptor chain, event emitter and per-call caller-stack capture.
   */
  private unary(m: UnaryMethod, req: unknown, md: Metadata, deadline: number): Promise<unknown> {
    let bytes: Buffer;
    try {
      bytes = m.serialize(req);
    } catch (err) {
      const details = `Request message serialization failure: ${err instanceof Error ? err.message : String(err)}`;
      return Promise.reject(statusError({ code: Status.INTERNAL, details, metadata: new Metadata() }));
    }
    const call = this.channel.createCall(m.path, deadline, undefined, null, undefined);
    return new Promise((resolve, reject) => {
      let response: Buffer | undefined;
      call.start(md, {
        onReceiveMetadata() {},
        onReceiveMessage(msg: Buffer) {
          if (response !== undefined) call.cancelWithStatus(Status.UNIMPLEMENTED, 'Too many responses received');
          response = msg;
        },
        onReceiveStatus(status) {
          if (status.code !== Status.OK) return reject(statusError(status));
          if (response === undefined)
            return reject(
              statusError({ code: Status.UNIMPLEMENTED, details: 'No message received', metadata: status.metadata }),
            );
          try {
            resolve(m.deserialize(response));
          } catch (err) {
            const details = `Response message parsing error: ${err instanceof Error ? err.message : String(err)}`;
            reject(statusError({ code: Status.INTERNAL, details, metadata: new Metadata() }));
          }
        },
      });
      call.startRead();
      call.sendMessageWithContext({}, bytes);
      call.halfClose();
    });
  }

  /** Runs one inference request. */
  async infer(model: string, inputs: Tensor[], o: InferCallOptions = {}) {
    const md = this.md(o.metadata);
    const res = (await this.unary(
      MODEL_INFER,
      encodeInferRequest(model, inputs, o),
      md,
      o.timeoutMs === undefined ? Infinity : Date.now() + o.timeoutMs,
    )) as ModelInferResponse;
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
    const md = this.md(o.metadata);
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
  /** The call's gRPC deadline, ms from now. */
  timeoutMs?: number;
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

/** Size of a string field; an empty proto3 string is not written. */
function stringField(len: number): number {
  return len === 0 ? 0 : lenField(len);
}

/**
 * The bytes protobuf-es's toBinary writes for inferRequest(...), written directly: the reflective
 * create + toBinary path costs more than the rest of a small request's client-side work. Shapes
 * with dimensions that are not non-negative safe integers take the reflective path.
 */
export function encodeInferRequest(model: string, inputs: Tensor[], o: InferCallOptions = {}): Buffer {
  if (!inputs.every((t) => t.shape.every((d) => Number.isSafeInteger(d) && d >= 0)))
    return asBuffer(toBinary(ModelInferRequestSchema, inferRequest(model, inputs, o)));
  const version = o.version ?? '';
  const id = o.id ?? '';
  const outputs = o.outputs ?? [];
  const modelLen = Buffer.byteLength(model, 'utf8');
  const versionLen = Buffer.byteLength(version, 'utf8');
  const idLen = Buffer.byteLength(id, 'utf8');
  const raw = inputs.map((t) =>
    isBytesData(t.data)
      ? encodeBytesElements(t.data)
      : new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength),
  );
  const inputSizes = inputs.map((t) => {
    const nameLen = Buffer.byteLength(t.name, 'utf8');
    const typeLen = Buffer.byteLength(t.datatype, 'utf8');
    let dims = 0;
    for (const d of t.shape) dims += varintSize(d);
    const body = stringField(nameLen) + stringField(typeLen) + (t.shape.length > 0 ? lenField(dims) : 0);
    return { nameLen, typeLen, dims, body };
  });
  const outputLens = outputs.map((name) => Buffer.byteLength(name, 'utf8'));
  let size = stringField(modelLen) + stringField(versionLen) + stringField(idLen);
  for (const s of inputSizes) size += lenField(s.body);
  for (const n of outputLens) size += lenField(stringField(n));
  for (const r of raw) size += lenField(r.byteLength);

  const w = new WireWriter(size);
  if (modelLen > 0) w.string(1, model, modelLen);
  if (versionLen > 0) w.string(2, version, versionLen);
  if (idLen > 0) w.string(3, id, idLen);
  inputs.forEach((t, i) => {
    const s = inputSizes[i]!;
    w.len(5, s.body);
    if (s.nameLen > 0) w.string(1, t.name, s.nameLen);
    if (s.typeLen > 0) w.string(2, t.datatype, s.typeLen);
    if (t.shape.length > 0) {
      w.len(3, s.dims);
      for (const d of t.shape) w.varint(d);
    }
  });
  outputs.forEach((name, i) => {
    const n = outputLens[i]!;
    w.len(6, stringField(n));
    if (n > 0) w.string(1, name, n);
  });
  for (const r of raw) w.bytes(7, r);
  return w.buf;
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
  const params = Object.entries(res.parameters);
  if (params.length > 0) {
    r.parameters = {};
    for (const [k, p] of params) {
      const c = p.parameterChoice;
      if (c.case !== undefined) r.parameters[k] = typeof c.value === 'bigint' ? Number(c.value) : c.value;
    }
  }
  return r;
}
