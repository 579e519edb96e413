/**
 * The shared-memory endpoints (protocol.md §B.8) with Triton's shapes and texts. System shared
 * memory goes to the region table gRPC shares (common/shm-regions.ts); CUDA shared memory is
 * declined gracefully: status lists nothing and unregister is a no-op (clients call both in setup
 * and teardown), register answers 501.
 */
import { invalidArg } from '../../core/index.js';
import { shmUnsupported } from '../common/shared-memory.js';
import { parseJsonObjectBody, stringifyJson } from './json.js';
import { type Handler, jsonResult } from './types.js';

/** GET /v2/systemsharedmemory[/region/{r}]/status: `[{"name","key","offset","byte_size"}]`. */
export const shmStatus: Handler = (deps, { params }) => {
  const rows = deps.sharedMemory.status(params.region).map((r) => ({
    name: r.name,
    key: r.key,
    offset: r.offset,
    byte_size: r.byteSize,
  }));
  return jsonResult(stringifyJson(rows));
};

/** The unsigned integer field `key` of a register body; `required` fields have Triton's text. */
function unsigned(doc: Record<string, unknown>, key: string, required: boolean): number {
  const v = doc[key];
  if (v === undefined) {
    if (required) throw invalidArg(`Shared memory register request has no '${key}' field`);
    return 0;
  }
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0)
    throw invalidArg(`'${key}' of a shared memory register request must be a non-negative integer`);
  return v;
}

/** POST /v2/systemsharedmemory/region/{r}/register with `{"key", "offset"?, "byte_size"}`. */
export const shmRegister: Handler = async (deps, { params }, req) => {
  const name = params.region ?? '';
  if (name === '') throw invalidArg("'region name' is necessary to register system shared memory region");
  const doc = parseJsonObjectBody(req.body, deps.limits.maxJsonDepth);
  if (doc.key === undefined) throw invalidArg("Shared memory register request has no 'key' field");
  if (typeof doc.key !== 'string') throw invalidArg("'key' of a shared memory register request must be a string");
  const offset = unsigned(doc, 'offset', false);
  const byteSize = unsigned(doc, 'byte_size', true);
  await deps.sharedMemory.register(name, doc.key, offset, byteSize);
  return { status: 200 };
};

/** POST /v2/systemsharedmemory[/region/{r}]/unregister: one region, or every one. */
export const shmUnregister: Handler = (deps, { params }) => {
  if (params.region === undefined) deps.sharedMemory.unregisterAll();
  else deps.sharedMemory.unregister(params.region);
  return { status: 200 };
};

/** CUDA shared-memory status: no regions. */
export const cudaShmStatus: Handler = () => jsonResult('[]');

/** CUDA shared-memory unregister: nothing is registered, so it is a successful no-op. */
export const cudaShmUnregister: Handler = () => ({ status: 200 });

/** CUDA shared-memory register: declined with 501. */
export const cudaShmRegister: Handler = () => {
  throw shmUnsupported();
};
