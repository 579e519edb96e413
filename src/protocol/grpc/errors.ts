/**
 * Turning failures into gRPC statuses. InferErrors carry their own status (core registry, A.7);
 * anything else is an internal error whose text never reaches the client.
 */
import { Metadata, type ServiceError, type status } from '@grpc/grpc-js';
import { InferError, toInferError } from '../../core/index.js';

/** Receives errors that were not InferErrors (bugs), so the composition root can log them. */
export type UnexpectedErrorHook = (err: unknown, where: string) => void;

/** Marker returned by a deserializer when the bytes are not a valid protobuf message. */
export class MalformedMessage {
  /** `reason`: why a well-formed message was refused before decoding (a guard's count), if so. */
  constructor(
    readonly typeName: string,
    readonly reason?: string,
  ) {}
}

/** The status a client sees for a malformed protobuf message. */
export function malformedError(m: MalformedMessage): InferError {
  return new InferError('IG_ERR_INVALID_ARG', m.reason ?? `malformed ${m.typeName} message`);
}

/** Maps anything thrown to an InferError, reporting non-InferErrors to the hook. */
export function classify(err: unknown, where: string, onUnexpected?: UnexpectedErrorHook): InferError {
  if (err instanceof InferError) return err;
  onUnexpected?.(err, where);
  return toInferError(err);
}

/** A grpc-js ServiceError for a callback: code from the registry, details = client-facing message. */
export function toServiceError(err: InferError): Partial<ServiceError> {
  const metadata = new Metadata();
  // Registry headers (e.g. Retry-After) travel as trailers, lower-cased as HTTP/2 requires.
  if (err.headers) for (const [k, v] of Object.entries(err.headers)) metadata.set(k.toLowerCase(), v);
  // The stable registry code (IG_ERR_…), as HTTP's infergate-error-code header.
  metadata.set('infergate-error-code', err.code);
  return { code: err.grpcStatus as status, details: err.message, metadata };
}
