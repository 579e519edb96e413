/**
 * The pure half of a lookup: entity ids → Redis keys, and the HMGET replies → the feature tensor in
 * the configured column order, with defaults, missing entities and missing features found and
 * named. No I/O; the instance sends the keys and hands the replies here.
 */
import { arrayCtor, InferError, invalidArg, isBytesData, type NumericArray, type Tensor } from '../../core/index.js';
import type { FeatureStoreSpec, FeatureValue } from './config.js';
import { parseFeatureValue } from './values.js';

/** An entity id as error messages show it: quoted, escaped, at most this many characters. */
const MAX_SHOWN = 64;
const decoder = new TextDecoder();

/** The Redis key of each entity of `ids` (one per element, row-major): `<prefix><id><suffix>`. */
export function entityKeys(spec: FeatureStoreSpec, ids: Tensor): Array<string | Buffer> {
  if (ids.datatype !== spec.input.datatype)
    throw invalidArg(`feature store '${spec.model}': input '${ids.name}' must be ${spec.input.datatype}`);
  if (isBytesData(ids.data)) {
    const prefix = Buffer.from(spec.keyPrefix);
    const suffix = Buffer.from(spec.keySuffix);
    return ids.data.map((id, row) => {
      if (id.byteLength === 0) throw invalidArg(`feature store '${spec.model}': the entity id of row ${row} is empty`);
      return Buffer.concat([prefix, id, suffix]);
    });
  }
  const keys = new Array<string>(ids.data.length);
  for (let i = 0; i < ids.data.length; i++) keys[i] = spec.keyPrefix + String(ids.data[i]) + spec.keySuffix;
  return keys;
}

/** How an error message names the entity of row `row`: `"u42"`, `"42"`. */
export function entityName(ids: Tensor, row: number): string {
  const text = isBytesData(ids.data) ? decoder.decode(ids.data[row]) : String(ids.data[row]);
  return JSON.stringify(text.length > MAX_SHOWN ? `${text.slice(0, MAX_SHOWN)}…` : text);
}

/**
 * The feature tensor [rows, features] from one HMGET reply per entity (the values of
 * `spec.features`, in order, null where absent). An entity with none of its features stored is
 * missing: with `on_missing_entity: default` its row is the defaults, else IG_ERR_INVALID_ARG
 * names it. A missing value takes its feature's default, else IG_ERR_INVALID_ARG names the entity
 * and the feature. A stored value that is not a number of the output's datatype is the store's
 * fault: IG_ERR_MODEL_EXECUTION names the entity and the feature.
 */
export function assembleFeatures(
  spec: FeatureStoreSpec,
  ids: Tensor,
  replies: ReadonlyArray<ReadonlyArray<string | null>>,
): Tensor {
  const rows = replies.length;
  const n = spec.features.length;
  const datatype = spec.output.datatype;
  const data = new (arrayCtor(datatype as 'FP32'))(rows * n);
  const out = data as unknown as { [i: number]: FeatureValue };
  const missing = { entities: 0, entityRow: -1, values: 0, valueRow: -1, valueCol: -1 };
  for (let r = 0; r < rows; r++) {
    const reply = replies[r]!;
    const base = r * n;
    if (reply.every((v) => v === null)) {
      if (spec.onMissingEntity === 'default') {
        for (let c = 0; c < n; c++) out[base + c] = spec.defaults[c]!;
      } else if (missing.entities++ === 0) missing.entityRow = r;
      continue;
    }
    for (let c = 0; c < n; c++) {
      const text = reply[c];
      if (text === null || text === undefined) {
        const d = spec.defaults[c];
        if (d !== undefined) out[base + c] = d;
        else if (missing.values++ === 0) {
          missing.valueRow = r;
          missing.valueCol = c;
        }
        continue;
      }
      const v = parseFeatureValue(text, datatype);
      if (typeof v === 'string')
        throw new InferError(
          'IG_ERR_MODEL_EXECUTION',
          `feature store '${spec.model}': entity ${entityName(ids, r)}, feature '${spec.features[c]}': the stored value ${v} (${datatype} expected)`,
        );
      out[base + c] = v;
    }
  }
  if (missing.entities > 0)
    throw invalidArg(
      `feature store '${spec.model}': entity ${entityName(ids, missing.entityRow)} not found` +
        (missing.entities > 1 ? ` (${missing.entities} of the ${rows} entities were not found)` : ''),
    );
  if (missing.values > 0)
    throw invalidArg(
      `feature store '${spec.model}': entity ${entityName(ids, missing.valueRow)} has no value for feature ` +
        `'${spec.features[missing.valueCol]}' and the feature has no default` +
        (missing.values > 1 ? ` (${missing.values} values are missing in this request)` : ''),
    );
  return { name: spec.output.name, datatype, shape: [rows, n], data: data as NumericArray };
}
