/**
 * TraceSetting and LogSettings rpcs (protocol.md B.7, C.2), both over the admin service; on gRPC
 * every trace value is a list of strings.
 */
import { create } from '@bufbuild/protobuf';
import { invalidArg } from '../../core/index.js';
import {
  type LogSettingsRequest_SettingValue,
  type LogSettingsResponse_SettingValue,
  LogSettingsResponse_SettingValueSchema,
} from '../../gen/grpc_service_pb.js';
import type { AdminService, LogSettings } from '../../router/types.js';
import type { InferenceImpl } from './types.js';

type SettingsRpcs = Pick<InferenceImpl, 'traceSetting' | 'logSettings'>;

/** Applies a TraceSetting request (an empty value list clears the key) and answers the settings. */
function traceResponse(admin: AdminService, modelName: string, settings: Record<string, { value: string[] }>) {
  const model = modelName === '' ? undefined : modelName;
  const update: Record<string, string | string[] | null> = {};
  for (const [k, v] of Object.entries(settings))
    update[k] =
      v.value.length === 0 ? null : k === 'trace_level' || k === 'trace_config' ? v.value : (v.value[0] as string);
  const view = Object.keys(update).length > 0 ? admin.updateTraceSettings(update, model) : admin.traceSettings(model);
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

/** TraceSetting and LogSettings over the admin service (an empty request only reads). */
export function settingsHandlers(admin: AdminService): SettingsRpcs {
  return {
    traceSetting: (req) => traceResponse(admin, req.modelName, req.settings),
    logSettings: (req) => {
      const keys = Object.keys(req.settings);
      if (keys.length === 0) return logResponse(admin.getLogSettings());
      const update: LogSettings = {};
      for (const k of keys) update[k] = fromLogValue(k, req.settings[k] as LogSettingsRequest_SettingValue);
      return logResponse(admin.updateLogSettings(update));
    },
  };
}
