/**
 * The shared-memory parameters of an HTTP input or requested output (protocol.md B.8), read as
 * Triton's HTTP front end reads them: `shared_memory_region` (string), `shared_memory_offset` and
 * `shared_memory_byte_size` (unsigned integers, default 0; a wrong byte size is then the size
 * check's to report). Without a region, the other two are ignored, as in Triton.
 */
import { invalidArg, type ParamValue } from '../../core/index.js';
import type { ShmRef } from '../common/index.js';

function unsigned(params: Record<string, ParamValue>, key: string): number {
  const v = params[key];
  if (v === undefined) return 0;
  // Triton's prefix; what follows says why.
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0)
    throw invalidArg(`Unable to parse '${key}': expected a non-negative integer`);
  return v;
}

/** The region of a tensor's data, or undefined when its parameters name none. */
export function httpShmRef(params: Record<string, ParamValue>): ShmRef | undefined {
  const region = params.shared_memory_region;
  if (region === undefined) return undefined;
  if (typeof region !== 'string') throw invalidArg("Unable to parse 'shared_memory_region': expected a string");
  return {
    region,
    offset: unsigned(params, 'shared_memory_offset'),
    byteSize: unsigned(params, 'shared_memory_byte_size'),
  };
}

/** A requested output's region, after Triton's checks of what may not go with it. */
export function httpOutputShmRef(params: Record<string, ParamValue>): ShmRef | undefined {
  if (params.shared_memory_region === undefined) return undefined;
  // Classification results are computed from the output, never stored in the region.
  if (params.classification !== undefined)
    throw invalidArg("Output can't set both 'shared_memory_region' and 'classification'");
  if (params.binary_data === true) throw invalidArg("Output can't set both 'shared_memory_region' and 'binary_data'");
  return httpShmRef(params);
}

/** Whether a parameter key belongs to the shared-memory extension (never passed on as custom). */
export function isShmParam(key: string): boolean {
  return key === 'shared_memory_region' || key === 'shared_memory_offset' || key === 'shared_memory_byte_size';
}
