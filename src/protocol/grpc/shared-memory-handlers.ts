/**
 * Shared-memory rpcs (protocol.md B.8): system shared memory over the region table that HTTP
 * shares (common/shm-regions.ts), with Triton's request and response shapes. CUDA shared memory
 * is declined gracefully: clients probe status and unregister-all in setup and teardown, so those
 * succeed with nothing registered, and register is UNIMPLEMENTED.
 */
import { create } from '@bufbuild/protobuf';
import { SystemSharedMemoryStatusResponse_RegionStatusSchema } from '../../gen/grpc_service_pb.js';
import { shmUnsupported, type SystemSharedMemory } from '../common/index.js';
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

/** System regions through `regions`; CUDA: status → none, register → UNIMPLEMENTED, unregister → OK. */
export function sharedMemoryHandlers(regions: SystemSharedMemory): ShmRpcs {
  return {
    systemSharedMemoryStatus: ({ name }) => {
      const status = regions.status(name);
      const out: Record<string, ReturnType<typeof regionStatus>> = {};
      for (const s of status) out[s.name] = regionStatus(s);
      return { regions: out };
    },
    systemSharedMemoryRegister: async ({ name, key, offset, byteSize }) => {
      await regions.register(name, key, offset, byteSize);
      return {};
    },
    systemSharedMemoryUnregister: ({ name }) => {
      // An empty name means every region (Triton's UnregisterAll).
      if (name === '') regions.unregisterAll();
      else regions.unregister(name);
      return {};
    },
    cudaSharedMemoryStatus: () => ({ regions: {} }),
    cudaSharedMemoryRegister: unsupported,
    cudaSharedMemoryUnregister: () => ({}),
  };
}

function regionStatus(s: { name: string; key: string; offset: number; byteSize: number }) {
  return create(SystemSharedMemoryStatusResponse_RegionStatusSchema, {
    name: s.name,
    key: s.key,
    offset: BigInt(s.offset),
    byteSize: BigInt(s.byteSize),
  });
}
