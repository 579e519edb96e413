/**
 * Shared-memory rpcs, declined gracefully (protocol.md B.8): this CPU server has no shm support,
 * but clients probe status and unregister-all in setup/teardown, so those must succeed.
 */
import { shmUnsupported } from '../common/index.js';
import type { InferenceImpl } from './types.js';

type ShmRpcs = Pick<
  InferenceImpl,
  | 'systemSharedMemoryStatus'
  | 'systemSharedMemoryRegister'
  | 'systemSharedMemoryUnregister'
  | 'cudaSharedMemoryStatus'
  | 'cudaSharedMemoryRegister'
  | 'cudaSharedMemoryUnregister'
>;

function unsupported(): never {
  throw shmUnsupported();
}

/** Status → no regions; register → UNIMPLEMENTED; unregister → OK (nothing is registered). */
export function sharedMemoryHandlers(): ShmRpcs {
  return {
    systemSharedMemoryStatus: () => ({ regions: {} }),
    systemSharedMemoryRegister: unsupported,
    systemSharedMemoryUnregister: () => ({}),
    cudaSharedMemoryStatus: () => ({ regions: {} }),
    cudaSharedMemoryRegister: unsupported,
    cudaSharedMemoryUnregister: () => ({}),
  };
}
