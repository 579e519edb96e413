/**
 * TraceSetting and LogSettings rpcs (protocol.md B.7, C.2). Trace settings map onto the server's
 * tracing (observability/trace-control.ts); without tracing wired they behave as on HTTP: the
 * defaults with level OFF, an update checked (known keys only) but changing nothing. Log
 * settings go through the service.
 */
import { create } from '@bufbuild/protobuf';
import { invalidArg } from '../../core/index.js';
import {
  type LogSettingsRequest_SettingValue,
  type LogSettingsResponse_SettingValue,
  LogSettingsResponse_SettingValueSchema,
} from '../../gen/grpc_service_pb.js';
import type { TraceControl } from '../../observability/trace-control.js';
import type { InferenceService, LogSettings } from '../../router/types.js';
import type { InferenceImpl } from './types.js';

type SettingsRpcs = Pick<InferenceImpl, 'traceSetting' | 'logSettings'>;

/** Triton's trace defaults with tracing off; every value is a list of strings on gRPC. */
export const TRACE_DEFAULTS: ReadonlyMap<string, readonly string[]> = new Map([
  ['trace_file', ['']],
  ['trace_level', ['OFF']],
  ['trace_rate', ['1000']],
  ['trace_count', ['-1']],
  ['log_frequency', ['0']],
  ['trace_mode', ['triton']],
]);

function checkTraceKeys(keys: string[]): void {
  for (const key of keys)
    if (!TRACE_DEFAULTS.has(key) && key !== 'trace_config')
      throw invalidArg(`unknown trace setting '${key.slice(0, 64)}'`);
}

function traceResponse() {
  const settings: Record<string, { value: string[] }> = {};
  for (const [k, v] of TRACE_DEFAULTS) settings[k] = { value: [...v] };
  return { settings };
}

/** Applies a TraceSetting request (an empty value list clears the key) and answers the settings. */
function traceControlResponse(control: TraceControl, modelName: string, settings: Record<string, { value: string[] }>) {
  const model = modelName === '' ? undefined : modelName;
  const update: Record<string, string | string[] | null> = {};
  for (const [k, v] of Object.entries(settings))
    update[k] =
      v.value.length === 0 ? null : k === 'trace_level' || k === 'trace_config' ? v.value : (v.value[0] as string);
  const view = Object.keys(update).length > 0 ? control.update(update, model) : control.get(model);
  const out: Record<string, { value: string[] }> = {};
  for (const [k, v] of Object.entries(view)) out[k] = { value: Array.isArray(v) ? [...v] : [v] };
  return { settings: out };
}

/** A log setting value from the request oneof. */
function fromLogValue(key: string, v: LogSettingsRequest_SettingValue): string | number | boolean {
  const c = v.parameterChoice;
  if (c.case === undefined) throw invalidArg(`log setting '${key}' has no value`);
  return c.value;
}

/** A log setting value as the response oneof (non-negative integers as uint32, the rest as text). */
export function toLogValue(v: string | number | boolean): LogSettingsResponse_SettingValue {
  const choice =
    typeof v === 'boolean'
      ? ({ case: 'boolParam', value: v } as const)
      : typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 0xffffffff
        ? ({ case: 'uint32Param', value: v } as const)
        : ({ case: 'stringParam', value: String(v) } as const);
  return create(LogSettingsResponse_SettingValueSchema, { parameterChoice: choice });
}

function logResponse(s: LogSettings) {
  const settings: Record<string, LogSettingsResponse_SettingValue> = {};
  for (const [k, v] of Object.entries(s)) settings[k] = toLogValue(v);
  return { settings };
}

/** TraceSetting (tracing-backed, static without it) and LogSettings (service-backed; an empty request only reads). */
export function settingsHandlers(service: InferenceService, control?: TraceControl): SettingsRpcs {
  return {
    traceSetting: (req) => {
      // A model-level request for an unknown model fails like every other model rpc.
      if (req.modelName !== '') service.modelReady(req.modelName);
      if (control) return traceControlResponse(control, req.modelName, req.settings);
      checkTraceKeys(Object.keys(req.settings));
      return traceResponse();
    },
    logSettings: (req) => {
      const keys = Object.keys(req.settings);
      if (keys.length === 0) return logResponse(service.getLogSettings());
      const update: LogSettings = {};
      for (const k of keys) update[k] = fromLogValue(k, req.settings[k] as LogSettingsRequest_SettingValue);
      return logResponse(service.updateLogSettings(update));
    },
  };
}
