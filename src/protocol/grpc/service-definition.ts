/**
 * Builds grpc-js service definitions and handler tables from protobuf-es service descriptors,
 * so the wire contract (paths, streaming flags, message types) comes from our .proto files alone.
 * Unary implementations are plain async functions; errors they throw become gRPC statuses here.
 */
import {
  create,
  type DescMessage,
  type DescMethod,
  type DescService,
  fromBinary,
  type MessageInitShape,
  type MessageShape,
  toBinary,
} from '@bufbuild/protobuf';
import type { GenService, GenServiceMethods } from '@bufbuild/protobuf/codegenv2';
import type {
  Metadata,
  MethodDefinition,
  sendUnaryData,
  ServerDuplexStream,
  ServerUnaryCall,
  ServiceDefinition,
  UntypedHandleCall,
  UntypedServiceImplementation,
} from '@grpc/grpc-js';
import { ANONYMOUS, type Principal, type ResponseWritten } from '../../core/index.js';
import type { CallGuard } from './auth.js';
import { type CallSignal, deadlineMs, watchCall } from './call-signal.js';
import { WriteNotice } from './write-notice.js';
import { classify, MalformedMessage, malformedError, toServiceError, type UnexpectedErrorHook } from './errors.js';

/** What a unary implementation gets besides the request. */
export interface UnaryContext {
  /** Aborted when the client cancels or the deadline passes (created on first use). */
  readonly signal: AbortSignal;
  /** Absolute deadline, epoch ms; Infinity when none. */
  readonly deadline: number;
  readonly metadata: Metadata;
  /** Runs registered functions once the response message has been handed to the stream. */
  readonly written: ResponseWritten;
  /** Who is calling (decided by the guard before the implementation ran). */
  readonly principal: Principal;
}

export type UnaryImpl<I extends DescMessage, O extends DescMessage> = (
  request: MessageShape<I>,
  ctx: UnaryContext,
) => Promise<MessageInitShape<O>> | MessageInitShape<O>;

/** Bidi implementations drive the stream themselves; a malformed frame arrives as MalformedMessage. */
export type BidiImpl<I extends DescMessage, O extends DescMessage> = (
  call: ServerDuplexStream<MessageShape<I> | MalformedMessage, MessageShape<O>>,
  principal: Principal,
) => void;

/** The implementation object for a generated service: one function per method, by localName. */
export type ServiceImpl<M extends GenServiceMethods> = {
  [K in keyof M]: M[K]['methodKind'] extends 'unary'
    ? UnaryImpl<M[K]['input'], M[K]['output']>
    : M[K]['methodKind'] extends 'bidi_streaming'
      ? BidiImpl<M[K]['input'], M[K]['output']>
      : never;
};

// grpc-js wants Buffers; wrapping the Uint8Array's memory avoids a copy.
function asBuffer(u8: Uint8Array): Buffer {
  return Buffer.from(u8.buffer, u8.byteOffset, u8.byteLength);
}

// Unknown fields are dropped on the server: nothing re-serialises requests, and keeping them costs.
function decodeOrMark(schema: DescMessage, buf: Buffer): unknown {
  try {
    return fromBinary(schema, buf, { readUnknownFields: false });
  } catch {
    return new MalformedMessage(schema.typeName);
  }
}

/** Hand-written serialisers by message type name, for hot-path messages. */
export type FastEncoders = ReadonlyMap<string, (message: never) => Uint8Array>;

/**
 * Checks of a request's wire bytes by message type name, run before it is decoded: a reason
 * refuses the message (it arrives as a MalformedMessage carrying the reason).
 */
export type WireGuards = ReadonlyMap<string, (bytes: Uint8Array) => string | undefined>;

export function guardedDecode(
  schema: DescMessage,
  buf: Buffer,
  guard: ((b: Uint8Array) => string | undefined) | undefined,
) {
  if (guard !== undefined) {
    let reason: string | undefined;
    try {
      reason = guard(buf);
    } catch {
      // Bytes the guard cannot walk are malformed: the decode below says so.
    }
    if (reason !== undefined) return new MalformedMessage(schema.typeName, reason);
  }
  return decodeOrMark(schema, buf);
}

/** One grpc-js method definition (server and client halves) for a protobuf-es method. */
function methodDefinition(
  method: DescMethod,
  encoders?: FastEncoders,
  guards?: WireGuards,
): MethodDefinition<unknown, unknown> {
  const kind = method.methodKind;
  const fast = encoders?.get(method.output.typeName) as ((m: unknown) => Uint8Array) | undefined;
  const guard = guards?.get(method.input.typeName);
  return {
    path: `/${method.parent.typeName}/${method.name}`,
    requestStream: kind === 'client_streaming' || kind === 'bidi_streaming',
    responseStream: kind === 'server_streaming' || kind === 'bidi_streaming',
    requestSerialize: (m) => asBuffer(toBinary(method.input, create(method.input, m as MessageInitShape<DescMessage>))),
    requestDeserialize: (buf) => guardedDecode(method.input, buf, guard),
    responseSerialize: fast
      ? (m) => asBuffer(fast(m))
      : (m) => asBuffer(toBinary(method.output, m as MessageShape<DescMessage>)),
    responseDeserialize: (buf) => fromBinary(method.output, buf),
    originalName: method.name,
  };
}

/** The grpc-js ServiceDefinition for a protobuf-es service, keyed by method localName. */
export function serviceDefinition(
  service: DescService,
  encoders?: FastEncoders,
  guards?: WireGuards,
): ServiceDefinition {
  const def: Record<string, MethodDefinition<unknown, unknown>> = {};
  for (const m of service.methods) def[m.localName] = methodDefinition(m, encoders, guards);
  return def;
}

// The AbortController is made only when an implementation asks for the signal: most rpcs never do.
class LazyContext implements UnaryContext {
  private watch: CallSignal | undefined;
  private notice: WriteNotice | undefined;
  constructor(
    private readonly call: ServerUnaryCall<unknown, unknown>,
    readonly principal: Principal,
  ) {}
  get written(): ResponseWritten {
    this.notice ??= new WriteNotice();
    return this.notice;
  }
  /** After the callback: grpc-js has serialised the response onto the stream by then. */
  wrote(): void {
    this.notice?.fire();
  }
  get signal(): AbortSignal {
    this.watch ??= watchCall(this.call);
    return this.watch.signal;
  }
  get deadline(): number {
    return deadlineMs(this.call);
  }
  get metadata(): Metadata {
    return this.call.metadata;
  }
  release(): void {
    this.watch?.release();
  }
}

/** Adapts an async unary implementation to grpc-js's (call, callback) form with error mapping. */
function unaryHandler(
  method: DescMethod,
  fn: UnaryImpl<DescMessage, DescMessage>,
  onUnexpected: UnexpectedErrorHook | undefined,
  guard: CallGuard,
  finished?: CallFinished,
): UntypedHandleCall {
  return (call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<unknown>) => {
    let principal: Principal | Promise<Principal> = ANONYMOUS;
    const fail = (err: unknown) => {
      const e = toServiceError(classify(err, method.name, onUnexpected));
      if (finished && !(principal instanceof Promise)) finished(method, principal, call, e.code ?? 2);
      callback(e, null);
    };
    if (call.request instanceof MalformedMessage) return fail(malformedError(call.request));
    try {
      principal = guard(method, call, call.request);
    } catch (err) {
      return fail(err);
    }
    const run = (p: Principal) => {
      principal = p;
      runUnary(method, fn, call, callback, p, fail, finished);
    };
    if (principal instanceof Promise) principal.then(run, fail);
    else run(principal);
  };
}

/** The implementation, once the guard let the call in. */
function runUnary(
  method: DescMethod,
  fn: UnaryImpl<DescMessage, DescMessage>,
  call: ServerUnaryCall<unknown, unknown>,
  callback: sendUnaryData<unknown>,
  principal: Principal,
  fail: (err: unknown) => void,
  finished?: CallFinished,
): void {
  const ctx = new LazyContext(call, principal);
  const done = (out: MessageInitShape<DescMessage>) => {
    ctx.release();
    try {
      callback(null, create(method.output, out));
      finished?.(method, principal, call, 0);
    } catch (err) {
      fail(err);
    }
    ctx.wrote();
  };
  const failed = (err: unknown) => {
    ctx.release();
    fail(err);
  };
  try {
    const result = fn(call.request as MessageShape<DescMessage>, ctx);
    if (result instanceof Promise) result.then(done, failed);
    else done(result);
  } catch (err) {
    failed(err);
  }
}

/** A bidi stream is authenticated once, when it opens; a refusal ends it with the status. */
function bidiHandler(
  method: DescMethod,
  fn: BidiImpl<DescMessage, DescMessage>,
  onUnexpected: UnexpectedErrorHook | undefined,
  guard: CallGuard,
): UntypedHandleCall {
  const handler = (
    call: ServerDuplexStream<MessageShape<DescMessage> | MalformedMessage, MessageShape<DescMessage>>,
  ) => {
    const refuse = (err: unknown) => call.emit('error', toServiceError(classify(err, method.name, onUnexpected)));
    try {
      const p = guard(method, call);
      if (p instanceof Promise) p.then((principal) => fn(call, principal), refuse);
      else fn(call, p);
    } catch (err) {
      refuse(err);
    }
  };
  return handler as UntypedHandleCall;
}

/** Told when a unary call ends: its principal and status code (0 = OK); for the audit trail. */
export type CallFinished = (
  method: DescMethod,
  principal: Principal,
  call: ServerUnaryCall<unknown, unknown>,
  code: number,
) => void;

/** No guard: every call is anonymous (tests of other modules). */
const NO_GUARD: CallGuard = () => ANONYMOUS;

/** grpc-js handlers for every method of a service; streaming kinds other than bidi are refused. */
export function bindService<M extends GenServiceMethods>(
  service: GenService<M>,
  impl: ServiceImpl<M>,
  onUnexpected?: UnexpectedErrorHook,
  guard: CallGuard = NO_GUARD,
  finished?: CallFinished,
): UntypedServiceImplementation {
  const handlers: UntypedServiceImplementation = {};
  const fns = impl as Record<string, unknown>;
  for (const m of (service as unknown as DescService).methods) {
    const fn = fns[m.localName];
    if (typeof fn !== 'function') throw new Error(`no implementation for ${m.parent.typeName}.${m.name}`);
    if (m.methodKind === 'unary')
      handlers[m.localName] = unaryHandler(m, fn as UnaryImpl<DescMessage, DescMessage>, onUnexpected, guard, finished);
    else if (m.methodKind === 'bidi_streaming')
      handlers[m.localName] = bidiHandler(m, fn as BidiImpl<DescMessage, DescMessage>, onUnexpected, guard);
    else throw new Error(`${m.methodKind} rpc ${m.name} is not supported by bindService`);
  }
  return handlers;
}
