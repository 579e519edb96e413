/**
 * Triton's texts for the shared-memory extension (protocol.md §B.8), shared by HTTP and gRPC so
 * both say the same words. System shared memory is implemented (shm-regions.ts, shm-call.ts);
 * CUDA shared memory stays declined: status lists nothing, unregister is a no-op, register is
 * UNSUPPORTED, as Triton clients expect from a server without GPUs.
 */
import { InferError, invalidArg } from '../../core/index.js';

/** The text a CUDA shared-memory register call is answered with. */
export const SHM_UNSUPPORTED_MESSAGE = 'CUDA shared memory is not supported by this server';

/** Error for a CUDA shared-memory register call (HTTP 501 / gRPC UNIMPLEMENTED). */
export function shmUnsupported(): InferError {
  return new InferError('IG_ERR_UNSUPPORTED', SHM_UNSUPPORTED_MESSAGE);
}

// Names and keys come from the client; a message echoes at most this many characters of one.
const ECHO_MAX = 256;

/** A client-given name or key for a message, cut to a bounded length. */
export function shmEcho(s: string): string {
  return s.length > ECHO_MAX ? `${s.slice(0, ECHO_MAX)}…` : s;
}

/** A tensor names a region that is not registered (HTTP 404 / gRPC NOT_FOUND), Triton's text. */
export function shmRegionNotFound(region: string): InferError {
  return new InferError('IG_ERR_SHM_NOT_FOUND', `Unable to find shared memory region: '${shmEcho(region)}'`);
}

/** Status of one region that is not registered, Triton's text. */
export function shmStatusNotFound(region: string): InferError {
  return new InferError('IG_ERR_SHM_NOT_FOUND', `Unable to find system shared memory region: '${shmEcho(region)}'`);
}

/** Registering a name that is taken (Triton's ALREADY_EXISTS). */
export function shmAlreadyRegistered(region: string): InferError {
  return new InferError('IG_ERR_SHM_EXISTS', `shared memory region '${shmEcho(region)}' already in manager`);
}

/** Offset + byte_size beyond the object's size, or a size Triton cannot map (0), Triton's text. */
export function shmInvalidRegisterArgs(region: string): InferError {
  return invalidArg(`failed to register shared memory region '${shmEcho(region)}': invalid args`);
}

/**
 * The key cannot be opened. Triton's text (its status is INTERNAL, 500; infergate answers 400:
 * the key is the client's to fix) followed by why, which Triton leaves to its log.
 */
export function shmUnableToOpen(key: string, why: string): InferError {
  return invalidArg(`Unable to open shared memory region: '${shmEcho(key)}': ${why}`);
}

/** A tensor's offset at or past the end of its region, Triton's text. */
export function shmInvalidOffset(region: string): InferError {
  return invalidArg(`Invalid offset for shared memory region: '${shmEcho(region)}'`);
}

/** A tensor's offset + byte_size past the end of its region, Triton's text. */
export function shmInvalidRange(region: string): InferError {
  return invalidArg(`Invalid offset + byte size for shared memory region: '${shmEcho(region)}'`);
}

/**
 * An output larger than its region slice, Triton's text (INTERNAL in Triton, from its allocator;
 * 400 here: the client chose the slice).
 */
export function shmOutputTooSmall(output: string, sliceBytes: number, needed: number): InferError {
  return invalidArg(
    `shared memory size specified with the request for output '${output}' (${sliceBytes} bytes) should be at ` +
      `least ${needed} bytes to hold the results`,
  );
}

/** A fixed-size input whose region slice is not shape × element size, Triton core's text. */
export function shmInputSizeMismatch(input: string, model: string, expected: number, got: number): InferError {
  return invalidArg(
    `input byte size mismatch for input '${input}' for model '${model}'. Expected ${expected}, got ${got}`,
  );
}
