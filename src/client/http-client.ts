import { parseTritonJson } from './triton-json.js';
import { Agent, request } from 'undici';
import {
  type DataType,
  decodeBytesElements,
  elementCount,
  elementSize,
  encodeBytesElements,
  isBytesData,
  type NumericArray,
  numericFromBytes,
  type Tensor,
} from '../core/index.js';

/** Options of one inference call. */
export interface InferOptions {
  version?: string;
  id?: string;
  /** Send inputs and ask for outputs as Triton binary tensor data (default true). */
  binary?: boolean;
  /** Output names to return (default: all). */
  outputs?: string[];
  parameters?: Record<string, string | number | boolean>;
  signal?: AbortSignal;
  /** The call's deadline, ms from now (sent as infergate-timeout-ms). */
  timeoutMs?: number;
}

/** A decoded inference response. */
export interface InferResult {
  model: string;
  version: string;
  id?: string;
  outputs: Tensor[];
  /** Response parameters, when the server sent any (e.g. infergate's `fallback_step`). */
  parameters?: Record<string, string | number | boolean>;
}

/** Error answered by the server, with its HTTP status and message. */
export class ServerError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

interface OutputHeader {
  name: string;
  datatype: DataType;
  shape: number[];
  data?: unknown[];
  parameters?: { binary_data_size?: number };
}

/** A KServe v2 REST client (JSON or binary tensor data) over a keep-alive connection pool. */
export class HttpClient {
  private readonly agent: Agent;
  private readonly base: string;

  private readonly headers: Record<string, string>;

  /**
   * `headers` go with every request (credentials: `x-api-key`, `authorization`); `tls` trusts a
   * private CA and presents a client certificate (mTLS) for an https:// base.
   */
  constructor(
    base: string,
    options: {
      connections?: number;
      headers?: Record<string, string>;
      tls?: { ca?: Buffer; cert?: Buffer; key?: Buffer };
    } = {},
  ) {
    this.base = base.replace(/\/+$/, '');
    this.headers = options.headers ?? {};
    this.agent = new Agent({
      connections: options.connections ?? 16,
      keepAliveTimeout: 30_000,
      pipelining: 1,
      ...(options.tls ? { connect: options.tls } : {}),
    });
  }

  /** GET/POST a JSON endpoint; returns the parsed body (undefined for empty) or throws ServerError. */
  async json(method: 'GET' | 'POST', path: string, body?: unknown): Promise<unknown> {
    const res = await request(`${this.base}${path}`, {
      method,
      dispatcher: this.agent,
      body: body === undefined ? undefined : JSON.stringify(body),
      headers: body === undefined ? this.headers : { ...this.headers, 'content-type': 'application/json' },
    });
    const text = await res.body.text();
    if (res.statusCode !== 200) throw new ServerError(res.statusCode, errorText(text));
    return text.length > 0 ? JSON.parse(text) : undefined;
  }

  /** Status code of a health/ready endpoint. */
  async status(path: string): Promise<number> {
    const res = await request(`${this.base}${path}`, { dispatcher: this.agent, headers: this.headers });
    await res.body.dump();
    return res.statusCode;
  }

  /** Runs one inference request. */
  async infer(model: string, inputs: Tensor[], o: InferOptions = {}): Promise<InferResult> {
    const binary = o.binary ?? true;
    const path = `/v2/models/${encodeURIComponent(model)}${o.version ? `/versions/${o.version}` : ''}/infer`;
    const chunks: Uint8Array[] = [];
    const header = {
      ...(o.id ? { id: o.id } : {}),
      ...(o.parameters || binary
        ? { parameters: { ...o.parameters, ...(binary ? { binary_data_output: true } : {}) } }
        : {}),
      inputs: inputs.map((t) => {
        if (!binary) return { name: t.name, datatype: t.datatype, shape: t.shape, data: jsonData(t) };
        const bytes = isBytesData(t.data) ? encodeBytesElements(t.data) : bytesOf(t.data);
        chunks.push(bytes);
        return {
          name: t.name,
          datatype: t.datatype,
          shape: t.shape,
          parameters: { binary_data_size: bytes.byteLength },
        };
      }),
      ...(o.outputs ? { outputs: o.outputs.map((name) => ({ name, parameters: { binary_data: binary } })) } : {}),
    };
    const json = Buffer.from(JSON.stringify(header));
    const res = await request(`${this.base}${path}`, {
      method: 'POST',
      dispatcher: this.agent,
      signal: o.signal,
      headers: {
        ...this.headers,
        'content-type': binary ? 'application/octet-stream' : 'application/json',
        ...(binary ? { 'inference-header-content-length': String(json.byteLength) } : {}),
        ...(o.timeoutMs !== undefined ? { 'infergate-timeout-ms': String(o.timeoutMs) } : {}),
      },
      body: binary ? Buffer.concat([json, ...chunks]) : json,
    });
    const body = new Uint8Array(await res.body.arrayBuffer());
    if (res.statusCode !== 200) throw new ServerError(res.statusCode, errorText(new TextDecoder().decode(body)));
    const hlen = Number(res.headers['inference-header-content-length'] ?? body.byteLength);
    return decodeResponse(body, hlen);
  }

  /** Closes pooled connections. */
  async close(): Promise<void> {
    await this.agent.close();
  }
}

function errorText(text: string): string {
  try {
    return (JSON.parse(text) as { error?: string }).error ?? text;
  } catch {
    return text;
  }
}

function bytesOf(d: NumericArray): Uint8Array {
  return new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
}

function jsonData(t: Tensor): unknown[] {
  if (isBytesData(t.data)) return t.data.map((b) => new TextDecoder().decode(b));
  if (t.datatype === 'BOOL') return Array.from(t.data as Uint8Array, (v) => v !== 0);
  return Array.from(t.data as ArrayLike<number | bigint>, (v) => (typeof v === 'bigint' ? Number(v) : v));
}

// ignoreBOM: a BYTES output may start with U+FEFF, which a default TextDecoder drops.
const HEADER_TEXT = new TextDecoder('utf-8', { ignoreBOM: true });

function decodeResponse(body: Uint8Array, hlen: number): InferResult {
  const head = parseTritonJson(HEADER_TEXT.decode(body.subarray(0, hlen))) as {
    model_name: string;
    model_version: string;
    id?: string;
    outputs: OutputHeader[];
    parameters?: Record<string, string | number | boolean>;
  };
  let off = hlen;
  const outputs = head.outputs.map((o): Tensor => {
    const size = o.parameters?.binary_data_size;
    if (size === undefined) return fromJson(o);
    const bytes = body.subarray(off, off + size);
    off += size;
    if (o.datatype === 'BYTES') {
      const items = decodeBytesElements(bytes, elementCount(o.shape));
      if (typeof items === 'string') throw new Error(`output '${o.name}': ${items}`);
      return { name: o.name, datatype: o.datatype, shape: o.shape, data: items };
    }
    return { name: o.name, datatype: o.datatype, shape: o.shape, data: numericFromBytes(o.datatype, bytes) };
  });
  const r: InferResult = { model: head.model_name, version: head.model_version, outputs };
  if (head.id) r.id = head.id;
  if (head.parameters && Object.keys(head.parameters).length > 0) r.parameters = head.parameters;
  return r;
}

function fromJson(o: OutputHeader): Tensor {
  const values = (o.data ?? []) as Array<number | boolean | string>;
  if (o.datatype === 'BYTES') return { ...o, data: values.map((v) => new TextEncoder().encode(String(v))) } as Tensor;
  const dt = o.datatype as Exclude<DataType, 'BYTES'>;
  const bytes = new Uint8Array(values.length * elementSize(dt));
  const arr = numericFromBytes(dt, bytes) as unknown as { [i: number]: number | bigint };
  const big = dt === 'INT64' || dt === 'UINT64';
  values.forEach((v, i) => {
    arr[i] = big ? BigInt(v as number) : Number(v);
  });
  return { name: o.name, datatype: dt, shape: o.shape, data: arr as unknown as NumericArray };
}
