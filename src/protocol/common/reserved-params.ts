/**
 * Triton-reserved request parameters (protocol.md §A.5, §B.5, §B.6), shared by HTTP and gRPC.
 * The protocol layer interprets them once here so the router sees validated, typed values.
 */
import { invalidArg, type ParamValue } from '../../core/index.js';

/** Request-level parameters split into the reserved values and what passes on to the model. */
export interface SplitParameters {
  /** Custom parameters plus the sequence_* keys (the router/scheduler reads those). */
  parameters: Record<string, ParamValue>;
  priority?: number;
  timeoutUs?: number;
  /** HTTP binary tensor extension: default output format when an output does not say. */
  binaryDataOutput?: boolean;
}

/** The most entries one `parameters` object may have (200k keys cost the event loop 423 ms). */
export const MAX_PARAMETERS = 256;

/** Refuses a `parameters` object with more than MAX_PARAMETERS entries; `where` names its owner. */
export function checkParameterCount(count: number, where: string): void {
  if (count > MAX_PARAMETERS)
    throw invalidArg(`'parameters' of ${where} has ${count} entries; at most ${MAX_PARAMETERS} are accepted`);
}

/** Options for {@link splitReservedParameters}. */
export interface ReservedOptions {
  /** `triton_*` keys this protocol accepts (gRPC: triton_enable_empty_final_response). */
  allowedTritonKeys?: readonly string[];
}

// Keys dropped before the request reaches the router: `headers` is the client's own forwarding
// mechanism and means nothing to us.
const IGNORED = new Set(['headers']);

/** Validates and splits request-level parameters; throws IG_ERR_INVALID_ARG naming the bad key. */
export function splitReservedParameters(raw: Record<string, ParamValue>, options?: ReservedOptions): SplitParameters {
  const out: SplitParameters = { parameters: {} };
  for (const key of Object.keys(raw)) {
    const value = raw[key] as ParamValue;
    if (IGNORED.has(key)) continue;
    switch (key) {
      case 'priority':
        out.priority = unsignedInt(key, value);
        break;
      case 'timeout':
        out.timeoutUs = unsignedInt(key, value);
        break;
      case 'binary_data_output':
        out.binaryDataOutput = bool(key, value);
        break;
      case 'sequence_id':
        out.parameters[key] = sequenceId(value);
        break;
      case 'sequence_start':
      case 'sequence_end':
        out.parameters[key] = bool(key, value);
        break;
      default:
        if (key.startsWith('triton_') && !options?.allowedTritonKeys?.includes(key))
          throw invalidArg(`parameter keys starting with 'triton_' are reserved for Triton usage: '${key}'`);
        out.parameters[key] = value;
    }
  }
  return out;
}

/** A non-negative integer that fits a JS number exactly (uint64 on the wire). */
function unsignedInt(key: string, value: ParamValue): number {
  const n = typeof value === 'bigint' && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0)
    throw invalidArg(`parameter '${key}' must be an unsigned integer`);
  return n;
}

function bool(key: string, value: ParamValue): boolean {
  if (typeof value !== 'boolean') throw invalidArg(`parameter '${key}' must be a boolean`);
  return value;
}

/**
 * The longest string sequence_id accepted, in UTF-8 bytes: the id is kept per open sequence and
 * copied into a CORRID tensor, so an unbounded one would be memory a client chooses.
 */
export const MAX_SEQUENCE_ID_BYTES = 256;

/** sequence_id is an unsigned integer or a string (sequence(string_id) extension). */
function sequenceId(value: ParamValue): ParamValue {
  if (typeof value === 'string') {
    const bytes = Buffer.byteLength(value, 'utf8');
    if (bytes > MAX_SEQUENCE_ID_BYTES)
      throw invalidArg(
        `parameter 'sequence_id' is ${bytes} bytes long; string ids are at most ${MAX_SEQUENCE_ID_BYTES} bytes`,
      );
    return value;
  }
  if (typeof value === 'bigint' && value >= 0n) return value;
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return value;
  throw invalidArg(`parameter 'sequence_id' must be an unsigned integer or a string`);
}
