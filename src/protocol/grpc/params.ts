/**
 * InferParameter (gRPC oneof) ↔ ParamValue, and the Triton-reserved keys of protocol.md A.5/B.5/B.6
 * as Triton's gRPC front end checks them: each reserved key accepts only certain oneof cases.
 */
import { create } from '@bufbuild/protobuf';
import { invalidArg, type ParamValue } from '../../core/index.js';
import { type InferParameter, InferParameterSchema } from '../../gen/grpc_service_pb.js';
import { checkParameterCount, type ShmRef, splitReservedParameters } from '../common/index.js';

type Case = NonNullable<InferParameter['parameterChoice']['case']>;

const CASE_NAMES: Record<Case, string> = {
  boolParam: 'bool_param',
  int64Param: 'int64_param',
  stringParam: 'string_param',
  doubleParam: 'double_param',
  uint64Param: 'uint64_param',
};

const MIN_SAFE = BigInt(Number.MIN_SAFE_INTEGER);
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const UINT64_MAX = 2n ** 64n - 1n;

// 64-bit integers become numbers when exact, so they look like the HTTP front end's JSON numbers.
function narrow(v: bigint): number | bigint {
  return v >= MIN_SAFE && v <= MAX_SAFE ? Number(v) : v;
}

/** The plain value of an InferParameter, or undefined when no oneof case is set. */
export function paramValue(p: InferParameter): ParamValue | undefined {
  const c = p.parameterChoice;
  if (c.case === 'int64Param' || c.case === 'uint64Param') return narrow(c.value);
  return c.value;
}

/** An InferParameter for a plain value (integers as int64, or uint64 above int64's range). */
export function toInferParameter(v: ParamValue): InferParameter {
  if (typeof v === 'boolean') return create(InferParameterSchema, { parameterChoice: { case: 'boolParam', value: v } });
  if (typeof v === 'string')
    return create(InferParameterSchema, { parameterChoice: { case: 'stringParam', value: v } });
  if (typeof v === 'number' && !Number.isSafeInteger(v))
    return create(InferParameterSchema, { parameterChoice: { case: 'doubleParam', value: v } });
  const big = BigInt(v);
  // Beyond both 64-bit ranges the wire has no integer for it; the decimal text keeps it exact.
  if (big < INT64_MIN || big > UINT64_MAX)
    return create(InferParameterSchema, { parameterChoice: { case: 'stringParam', value: String(big) } });
  const choice = big > INT64_MAX ? ('uint64Param' as const) : ('int64Param' as const);
  return create(InferParameterSchema, { parameterChoice: { case: choice, value: big } });
}

/** Plain values of a parameter map (entries with no oneof case are skipped). */
export function paramMap(map: Record<string, InferParameter>): Record<string, ParamValue> {
  const out: Record<string, ParamValue> = {};
  for (const [k, p] of Object.entries(map)) {
    const v = paramValue(p);
    if (v !== undefined) out[k] = v;
  }
  return out;
}

/** InferParameter map for plain values. */
export function toParamMap(values: Record<string, ParamValue>): Record<string, InferParameter> {
  const out: Record<string, InferParameter> = {};
  for (const [k, v] of Object.entries(values)) out[k] = toInferParameter(v);
  return out;
}

// `label` names the parameter in messages, e.g. "'priority' parameter".
function expectCases(label: string, p: InferParameter, allowed: Case[]): void {
  const c = p.parameterChoice.case;
  if (c === undefined || !allowed.includes(c))
    throw invalidArg(`invalid value type for ${label}, expected ${allowed.map((a) => CASE_NAMES[a]).join(' or ')}`);
}

// An int64/uint64 parameter (case already checked) that must be a non-negative safe integer.
/** Request-level parameters after the reserved keys were checked and lifted out. */
export interface RequestParams {
  parameters: Record<string, ParamValue>;
  priority?: number;
  timeoutUs?: number;
}

// Triton's gRPC front end accepts each reserved key only in certain oneof cases.
// A Map, not an object literal: client keys such as "toString" must not hit the prototype.
const RESERVED_CASES = new Map<string, Case[]>([
  ['priority', ['uint64Param', 'int64Param']],
  ['timeout', ['int64Param']],
  ['sequence_id', ['int64Param', 'uint64Param', 'stringParam']],
  ['sequence_start', ['boolParam']],
  ['sequence_end', ['boolParam']],
]);

/**
 * Checks the oneof case of each reserved key, then splits them exactly as HTTP does
 * (protocol/common): `priority`/`timeout` become fields, sequence_* stay, other `triton_*` fail.
 */
export function decodeRequestParams(map: Record<string, InferParameter>): RequestParams {
  const entries = Object.entries(map);
  checkParameterCount(entries.length, 'the request');
  for (const [key, p] of entries) {
    const allowed = RESERVED_CASES.get(key);
    if (allowed) expectCases(`'${key}' parameter`, p, allowed);
  }
  const { parameters, priority, timeoutUs } = splitReservedParameters(paramMap(map), {
    allowedTritonKeys: ['triton_enable_empty_final_response'],
  });
  return { parameters, priority, timeoutUs };
}

/** A shared-memory int64 parameter's value (a non-negative safe integer), Triton's checks in its order. */
function shmSize(map: Record<string, InferParameter>, key: string, tensor: string, inShm: boolean): number | undefined {
  const p = map[key];
  if (p === undefined) return undefined;
  // Triton's texts, matched by its QA tests.
  if (!inShm)
    throw invalidArg(`'${key}' can not be specified without 'shared_memory_region' parameter for tensor '${tensor}'`);
  if (p.parameterChoice.case !== 'int64Param')
    throw invalidArg(`invalid value type for '${key}' parameter for tensor '${tensor}', expected int64_param.`);
  const v = p.parameterChoice.value;
  if (v < 0n || v > MAX_SAFE) throw invalidArg(`invalid value ${v} for '${key}' parameter for tensor '${tensor}'`);
  return Number(v);
}

/**
 * The region a tensor's data is in (protocol.md B.8), parsed as Triton's gRPC front end does:
 * `shared_memory_region` (string_param) with `shared_memory_byte_size` and an optional
 * `shared_memory_offset` (int64_param); undefined when the tensor names no region.
 */
export function shmRef(map: Record<string, InferParameter>, tensor: string): ShmRef | undefined {
  const region = map['shared_memory_region'];
  if (region !== undefined && region.parameterChoice.case !== 'stringParam')
    throw invalidArg(
      `invalid value type for 'shared_memory_region' parameter for tensor '${tensor}', expected string_param.`,
    );
  const inShm = region !== undefined;
  const offset = shmSize(map, 'shared_memory_offset', tensor, inShm);
  const byteSize = shmSize(map, 'shared_memory_byte_size', tensor, inShm);
  if (region === undefined) return undefined;
  if (byteSize === undefined)
    throw invalidArg(
      `'shared_memory_byte_size' must be specified along with 'shared_memory_region' parameter for tensor '${tensor}'`,
    );
  return { region: region.parameterChoice.value as string, offset: offset ?? 0, byteSize };
}

/**
 * Per-output options: `classification` (an int64/uint64 parameter; its range is the router's to
 * check, router/validate.ts, for every protocol), the shared-memory region the output goes to, and
 * the remaining custom parameters.
 */
export function decodeOutputParams(
  output: string,
  map: Record<string, InferParameter>,
): { classification?: number; parameters?: Record<string, ParamValue>; shm?: ShmRef } {
  checkParameterCount(Object.keys(map).length, `output '${output}'`);
  const out: { classification?: number; parameters?: Record<string, ParamValue>; shm?: ShmRef } = {};
  const shm = shmRef(map, output);
  if (shm !== undefined) {
    if (map['classification'] !== undefined)
      throw invalidArg("output can't set both 'shared_memory_region' and 'classification'");
    out.shm = shm;
  }
  for (const [key, p] of Object.entries(map)) {
    if (key === 'classification') {
      const label = `'classification' parameter of output '${output}'`;
      expectCases(label, p, ['int64Param', 'uint64Param']);
      out.classification = Number(p.parameterChoice.value as bigint);
      continue;
    }
    if (key.startsWith('shared_memory_')) continue;
    const v = paramValue(p);
    if (v === undefined) continue;
    out.parameters ??= {};
    out.parameters[key] = v;
  }
  return out;
}
