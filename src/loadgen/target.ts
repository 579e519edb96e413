/**
 * Where load goes: one `send(variant)` per request over a keep-alive pool, with the request bytes
 * prepared once. A send resolves to undefined on success or to an error kind — it never throws,
 * so the drivers stay simple and every failure is counted by kind.
 */
import {
  type Client,
  credentials,
  Metadata,
  makeGenericClientConstructor,
  type ServiceError,
  status,
} from '@grpc/grpc-js';
import { Pool } from 'undici';
import type { Tensor } from '../core/index.js';
import {
  grpcRequest,
  httpBinaryRequest,
  httpJsonRequest,
  type InputSpec,
  type PreparedHttp,
  randomTensor,
  type RequestParams,
} from './bodies.js';
import { seededRng } from './schedule.js';

/** The wire protocols the generator speaks. */
export type Protocol = 'http-json' | 'http-binary' | 'grpc';

/** Everything needed to build a target; plain data, so it can cross into a worker thread. */
export interface TargetSpec {
  protocol: Protocol;
  /** http://host:port for HTTP; host:port for gRPC. */
  url: string;
  model: string;
  version?: string;
  inputs: InputSpec[];
  /** Request parameters of each request variant (e.g. one per priority); default one plain variant. */
  variants?: RequestParams[];
  /** Pooled connections (HTTP) or channels (gRPC). */
  connections: number;
  /** Seed of the random input data. */
  seed?: number;
  /** Custom path for HTTP (default /v2/models/<m>[/versions/<v>]/infer), for non-KServe peers. */
  path?: string;
}

/** A prepared load target. */
export interface Target {
  /** Sends one request of the given variant; resolves to an error kind, or undefined on success. */
  send(variant: number): Promise<string | undefined>;
  close(): Promise<void>;
}

/** Builds the target for a spec: the inputs are drawn once, each variant encoded once. */
export function createTarget(spec: TargetSpec): Target {
  const rng = seededRng(spec.seed ?? 1);
  const inputs = spec.inputs.map((s) => randomTensor(s, rng));
  const variants = spec.variants && spec.variants.length > 0 ? spec.variants : [{}];
  if (spec.protocol === 'grpc') return new GrpcTarget(spec, inputs, variants);
  return new HttpTarget(spec, inputs, variants);
}

/** Error kind of a transport failure (connection refused, reset, timeout …). */
export function transportKind(err: unknown): string {
  const e = err as { code?: string; name?: string };
  return `transport_${e.code ?? e.name ?? 'error'}`;
}

class HttpTarget implements Target {
  private readonly pool: Pool;
  private readonly prepared: PreparedHttp[];
  private readonly path: string;

  constructor(spec: TargetSpec, inputs: Tensor[], variants: RequestParams[]) {
    const url = new URL(spec.url);
    const encode = spec.protocol === 'http-binary' ? httpBinaryRequest : httpJsonRequest;
    this.prepared = variants.map((p) => encode(inputs, p));
    const version = spec.version ? `/versions/${encodeURIComponent(spec.version)}` : '';
    this.path = spec.path ?? `/v2/models/${encodeURIComponent(spec.model)}${version}/infer`;
    // Pipelining off: one request per connection at a time, like every real inference client.
    this.pool = new Pool(url.origin, {
      connections: spec.connections,
      pipelining: 1,
      keepAliveTimeout: 60_000,
      headersTimeout: 120_000,
      bodyTimeout: 120_000,
    });
  }

  async send(variant: number): Promise<string | undefined> {
    const p = this.prepared[variant % this.prepared.length]!;
    try {
      const res = await this.pool.request({ path: this.path, method: 'POST', headers: p.headers, body: p.body });
      // Read the whole body: a client that skips it would measure less than a real one does.
      await res.body.arrayBuffer();
      return res.statusCode === 200 ? undefined : `http_${res.statusCode}`;
    } catch (err) {
      return transportKind(err);
    }
  }

  async close(): Promise<void> {
    await this.pool.close();
  }
}

const identity = (b: Buffer) => b;

/** grpc-js client for ModelInfer only, with the request bytes pre-serialised and the reply left encoded. */
const InferClient = makeGenericClientConstructor(
  {
    modelInfer: {
      path: '/inference.GRPCInferenceService/ModelInfer',
      requestStream: false,
      responseStream: false,
      requestSerialize: identity,
      requestDeserialize: identity,
      responseSerialize: identity,
      responseDeserialize: identity,
    },
  },
  'inference.GRPCInferenceService',
);

class GrpcTarget implements Target {
  private readonly clients: Client[];
  private readonly prepared: Buffer[];
  private next = 0;

  constructor(spec: TargetSpec, inputs: Tensor[], variants: RequestParams[]) {
    this.prepared = variants.map((p) => Buffer.from(grpcRequest(spec.model, spec.version ?? '', inputs, p)));
    const n = Math.max(1, Math.min(spec.connections, 8));
    // A local subchannel pool per client gives each its own HTTP/2 connection.
    this.clients = Array.from(
      { length: n },
      () =>
        new InferClient(spec.url, credentials.createInsecure(), {
          'grpc.max_receive_message_length': -1,
          'grpc.max_send_message_length': -1,
          'grpc.use_local_subchannel_pool': 1,
          // Channelz bookkeeping costs every call; the load generator never reads it.
          'grpc.enable_channelz': 0,
        }),
    );
  }

  send(variant: number): Promise<string | undefined> {
    const body = this.prepared[variant % this.prepared.length]!;
    const client = this.clients[this.next++ % this.clients.length]! as unknown as {
      modelInfer(req: Buffer, md: Metadata, opts: object, cb: (err: ServiceError | null) => void): void;
    };
    return new Promise((resolve) => {
      client.modelInfer(body, new Metadata(), {}, (err) => {
        resolve(
          err ? (err.code !== undefined ? `grpc_${status[err.code] ?? err.code}` : transportKind(err)) : undefined,
        );
      });
    });
  }

  async close(): Promise<void> {
    for (const c of this.clients) c.close();
  }
}
