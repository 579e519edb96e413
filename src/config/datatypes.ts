import { type DataType, fromConfigType, toConfigType } from '../core/datatype.js';
import { type DataType as ConfigDataType, DataTypeSchema } from '../gen/model_config_pb.js';

/** Protocol datatype for a config enum value (TYPE_STRING → BYTES); undefined for TYPE_INVALID. */
export function protocolType(t: ConfigDataType): DataType | undefined {
  const name = DataTypeSchema.values.find((v) => v.number === t)?.name;
  return name ? fromConfigType(name) : undefined;
}

/** Config enum value for a protocol datatype (BYTES → TYPE_STRING). */
export function configType(dt: DataType): ConfigDataType {
  const name = toConfigType(dt);
  const v = DataTypeSchema.values.find((x) => x.name === name);
  if (!v) throw new Error(`no config enum for ${dt}`);
  return v.number as ConfigDataType;
}

/** The config enum name of a value, for messages (TYPE_FP32). */
export function configTypeName(t: ConfigDataType): string {
  return DataTypeSchema.values.find((v) => v.number === t)?.name ?? `TYPE_${t}`;
}

/** int64 dims as plain numbers (dims never approach 2^53). */
export function dimsOf(dims: readonly bigint[]): number[] {
  return dims.map((d) => Number(d));
}
