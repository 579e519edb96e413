/**
 * ModelStreamInfer: bidirectional stream of ModelInferRequest → ModelStreamInferResponse.
 * Requests are dispatched as they arrive (so they reach the router in order and run concurrently)
 * but answered strictly in arrival order. A failing request is answered in-band with
 * `error_message` (plus its id) and the stream stays open, as Triton does.
 */
import { create } from '@bufbuild/protobuf';
import type { ServerDuplexStream } from '@grpc/grpc-js';
import {
  type ModelInferRequest,
  type ModelStreamInferResponse,
  ModelStreamInferResponseSchema,
} from '../../gen/grpc_service_pb.js';
import type { RequestSpan, Tracing } from '../../observability/tracing.js';
import type { InferenceService } from '../../router/types.js';
import { type CallSignal, watchCall } from './call-signal.js';
import { classify, MalformedMessage, malformedError, type UnexpectedErrorHook } from './errors.js';
import { decodeInferRequest } from './infer-decode.js';
import { encodeInferResponse } from './infer-encode.js';
import { toInferParameter } from './params.js';
import type { InferenceImpl } from './types.js';

export interface StreamOptions {
  /** Requests of one stream in flight before reading pauses (backpressure on the client). */
  maxInFlight: number;
  onUnexpectedError?: UnexpectedErrorHook;
  /** When on, each request of the stream gets a span continuing the stream's `traceparent`. */
  tracing?: Tracing;
}

type Call = ServerDuplexStream<ModelInferRequest | MalformedMessage, ModelStreamInferResponse>;

/** State of one open stream. */
class StreamSession {
  private tail: Promise<void> = Promise.resolve();
  private inFlight = 0;
  private paused = false;
  private readonly watch: CallSignal;

  constructor(
    private readonly call: Call,
    private readonly service: InferenceService,
    private readonly opts: StreamOptions,
  ) {
    this.watch = watchCall(call);
  }

  start(): void {
    this.call.on('data', (msg: ModelInferRequest | MalformedMessage) => this.accept(msg));
    this.call.on('end', () => {
      this.tail = this.tail.then(() => this.finish());
    });
    // A reset stream emits 'error'; without a listener it would crash the process.
    this.call.on('error', () => this.watch.release());
  }

  private accept(msg: ModelInferRequest | MalformedMessage): void {
    const answer = this.process(msg);
    this.inFlight++;
    if (this.inFlight >= this.opts.maxInFlight && !this.paused) {
      this.paused = true;
      this.call.pause();
    }
    this.tail = this.tail.then(async () => {
      await this.write(await answer);
      this.inFlight--;
      if (this.paused && this.inFlight < this.opts.maxInFlight) {
        this.paused = false;
        this.call.resume();
      }
    });
  }

  /** Never rejects: every request gets exactly one response message. */
  private async process(msg: ModelInferRequest | MalformedMessage): Promise<ModelStreamInferResponse> {
    if (msg instanceof MalformedMessage) return errorResponse(malformedError(msg).message);
    const span = this.startSpan(msg.modelName);
    try {
      const signal = this.watch.signal;
      const request = decodeInferRequest(msg, signal);
      if (signal.aborted) throw signal.reason;
      if (span) request.trace = span;
      const result = await this.service.infer(request);
      const t0 = span ? performance.now() : 0;
      const response = encodeInferResponse(result, msg.id);
      span?.encoded(t0, performance.now());
      if (request.parameters['triton_enable_empty_final_response'] === true)
        response.parameters['triton_final_response'] = toInferParameter(true);
      span?.end(0);
      return create(ModelStreamInferResponseSchema, { inferResponse: response });
    } catch (err) {
      const e = classify(err, 'ModelStreamInfer', this.opts.onUnexpectedError);
      span?.end(e.grpcStatus, e.message);
      return errorResponse(e.message, msg);
    }
  }

  /** A request span when tracing is on and samples it; one boolean check otherwise. */
  private startSpan(model: string): RequestSpan | undefined {
    const t = this.opts.tracing;
    if (!t?.on) return undefined;
    const md = this.call.metadata;
    const header = (k: string) => {
      const v = md.get(k)[0];
      return v === undefined ? undefined : String(v);
    };
    return t.startRequest('grpc', model, header('traceparent'), header('tracestate'));
  }

  private async write(res: ModelStreamInferResponse): Promise<void> {
    if (this.watch.signal.aborted || this.call.cancelled) return;
    try {
      if (this.call.write(res)) return;
    } catch {
      return;
    }
    // Honour HTTP/2 flow control; a cancel also ends the wait.
    const signal = this.watch.signal;
    await new Promise<void>((resolve) => {
      const done = () => {
        this.call.off('drain', done);
        signal.removeEventListener('abort', done);
        resolve();
      };
      this.call.on('drain', done);
      signal.addEventListener('abort', done);
    });
  }

  private finish(): void {
    this.watch.release();
    if (!this.call.cancelled) this.call.end();
  }
}

/** An in-band error; the request's id and model travel along so clients can correlate. */
function errorResponse(message: string, req?: ModelInferRequest): ModelStreamInferResponse {
  const inferResponse = req ? { id: req.id, modelName: req.modelName, modelVersion: req.modelVersion } : undefined;
  return create(ModelStreamInferResponseSchema, { errorMessage: message, inferResponse });
}

/** The ModelStreamInfer handler. */
export function streamInferHandler(service: InferenceService, opts: StreamOptions): InferenceImpl['modelStreamInfer'] {
  return (call) => new StreamSession(call, service, opts).start();
}
