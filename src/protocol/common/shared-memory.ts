/**
 * How infergate declines the shared-memory extension (protocol.md §B.8): status lists nothing,
 * unregister is a no-op, register is UNSUPPORTED, and a tensor naming a region fails like an
 * unregistered region does in Triton. Shared by HTTP and gRPC so both say the same words.
 */
import { InferError } from '../../core/index.js';

/** The text every protocol answers a register call with. */
export const SHM_UNSUPPORTED_MESSAGE = 'shared memory is not supported by this server';

/** Error for a shared-memory register call (HTTP 501 / gRPC UNIMPLEMENTED). */
export function shmUnsupported(): InferError {
  return new InferError('IG_ERR_UNSUPPORTED', SHM_UNSUPPORTED_MESSAGE);
}

/** Error for a tensor that references a region (HTTP 404 / gRPC NOT_FOUND), as Triton words it. */
export function shmRegionNotFound(region: string): InferError {
  return new InferError('IG_ERR_SHM_NOT_FOUND', `Unable to find shared memory region: '${region}'`);
}
