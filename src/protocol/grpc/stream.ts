/**
 * ModelStreamInfer: bidirectional stream of ModelInferRequest → ModelStreamInferResponse.
 * Requests are dispatched as they arrive (so they reach the router in order and run concurrently)
 * but answered strictly in arrival order. A failing request is answered in-band with
 * `error_message` (plus its id) and the stream stays open, as Triton does.
 */
import { setMaxListeners } from 'node:events';
import { create } from '@bufbuild/protobuf';
import type { Principal } from '../../core/index.js';
import type { ServerDuplexStream } from '@grpc/grpc-js';
import {
  type ModelInferRequest,
  type ModelStreamInferResponse,
  ModelStreamInferResponseSchema,
} from '../../gen/grpc_service_pb.js';
import { type CallSignal, deadlineMs, watchCall } from './call-signal.js';
import { classify, MalformedMessage, malformedError, type UnexpectedErrorHook } from './errors.js';
import type { InferPath } from './infer-call.js';
import { toInferParameter } from './params.js';
import { WriteNotice } from './write-notice.js';
import type { InferenceImpl } from './types.js';

export interface StreamOptions {
  /** Requests of one stream in flight before reading pauses (backpressure on the client). */
  maxInFlight: number;
  onUnexpectedError?: UnexpectedErrorHook;
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
    private readonly infer: InferPath,
    private readonly opts: StreamOptions,
    private readonly principal: Principal,
  ) {
    this.watch = watchCall(call);
    // Every request of the stream queued in a scheduler listens on this one signal (and stops once
    // answered, scheduler-core.ts): dozens at once are normal here, not the leak the warning suspects.
    setMaxListeners(0, this.watch.signal);
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
    const written = new WriteNotice();
    const answer = this.process(msg, written);
    this.inFlight++;
    if (this.inFlight >= this.opts.maxInFlight && !this.paused) {
      this.paused = true;
      this.call.pause();
    }
    this.tail = this.tail.then(async () => {
      await this.write(await answer);
      written.fire();
      this.inFlight--;
      if (this.paused && this.inFlight < this.opts.maxInFlight) {
        this.paused = false;
        this.call.resume();
      }
    });
  }

  /** Never rejects: every request gets exactly one response message. */
  private async process(msg: ModelInferRequest | MalformedMessage, written: WriteNotice) {
    if (msg instanceof MalformedMessage) return errorResponse(malformedError(msg).message);
    try {
      const signal = this.watch.signal;
      const call = {
        signal,
        deadline: deadlineMs(this.call),
        metadata: this.call.metadata,
        written,
        principal: this.principal,
      };
      const { request, response } = await this.infer(msg, call);
      if (request.parameters['triton_enable_empty_final_response'] === true)
        response.parameters['triton_final_response'] = toInferParameter(true);
      return create(ModelStreamInferResponseSchema, { inferResponse: response });
    } catch (err) {
      const e = classify(err, 'ModelStreamInfer', this.opts.onUnexpectedError);
      return errorResponse(e.message, msg);
    }
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

/** The ModelStreamInfer handler over the shared inference path. */
export function streamInferHandler(infer: InferPath, opts: StreamOptions): InferenceImpl['modelStreamInfer'] {
  return (call, principal) => new StreamSession(call, infer, opts, principal).start();
}
