/**
 * The response cache's key: which calls have the same answer. The rule:
 *
 *   key    = scope(tenant, version) + digest(request)
 *   scope  = sha256(tenant, model, version, fingerprint(version)), 32 hex, remembered per loaded
 *            version and tenant (it is the same for every call of that tenant to that version)
 *   digest = sha256 of
 *     - every input, sorted by name (Triton treats inputs as a set): name, datatype, shape, data
 *       length (BYTES: each element's length), then its bytes (numeric: the little-endian element
 *       bytes; BYTES: the elements one after the other);
 *     - the requested outputs in the client's order (the answer lists them in that order): name,
 *       `classification` count and the output's other parameters except `binary_data`; or "all
 *       outputs" when the request names none;
 *     - the request parameters, sorted, with their types, except those that only schedule, frame,
 *       correlate or trace a call (NOT_IN_KEY). `priority` and `timeout` are not parameters by the
 *       time the router sees them (protocol/common/reserved-params.ts) and never enter the key.
 *       Any other parameter is in the key: an unknown one may change the answer, and a needless
 *       one only costs hits, never a wrong answer.
 *     Every name and value is length-prefixed, so no two different requests frame the same text.
 *   fingerprint = sha256 of the model file's sha256 (when the supply policy read it) and the
 *     version's signature (inputs, outputs, dims, reshape, class labels, max_batch_size, BYTES
 *     as text): a version reloaded with another file or config never serves the old answers, and
 *     replicas serving the same file compute the same keys (the Redis tier is shared).
 * Not in the key: the request id (each answer echoes its own), the deadline, the binary/JSON
 * encoding of the answer, the principal beyond its tenant.
 *
 * The tenant is in the key: two tenants sending identical bytes never share an entry (S17); a call
 * without a tenant (auth off) has a space of its own, distinct from every tenant's.
 *
 * Everything validation reads (router/validate.ts: input names, datatypes, shapes, BYTES text;
 * output names and classification; the version's signature) is in the key, so a request that
 * validation would refuse can never find an entry: only answered calls store one. That is why the
 * `cache` stage may look up before `validate` runs.
 *
 * Why sha256: a client must not be able to craft inputs whose key collides with another call's
 * (cache poisoning inside a tenant), which rules out fast non-cryptographic hashes. Measured on
 * this machine (SHA-NI, 784 floats): sha256 4.5 µs, sha1 3.9, md5 7.5, blake2b512 8.2; 0.42 ms
 * for ResNet-50's 602 KB input, which is under 1% of its execution.
 */
import { createHash } from 'node:crypto';
import { bytesOf, type InferRequest, isBytesData, type ModelVersionSpec, type ParamValue } from '../core/index.js';

/** Request parameters that never change an answer: sequence correlation, gRPC stream framing, trace context. */
export const NOT_IN_KEY: ReadonlySet<string> = new Set([
  'sequence_id',
  'sequence_start',
  'sequence_end',
  'triton_enable_empty_final_response',
  'traceparent',
  'tracestate',
  'binary_data_output',
  'priority',
  'timeout',
  'headers',
]);

/** Output parameters that only choose the encoding. */
const OUTPUT_NOT_IN_KEY: ReadonlySet<string> = new Set(['binary_data']);

const KEY_FORMAT = 'igk1';

/** sha256 (hex) over what of the request decides its answer (the rule above), without tenant or version. */
export function requestDigest(request: InferRequest): string {
  const inputs =
    request.inputs.length > 1
      ? [...request.inputs].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
      : request.inputs;
  let head = `i${inputs.length}`;
  for (const t of inputs) {
    const size = isBytesData(t.data) ? t.data.map((e) => e.byteLength).join(',') : String(t.data.byteLength);
    head += field(t.name) + field(t.datatype) + field(t.shape.join(',')) + field(size);
  }
  const outputs = request.outputs;
  if (outputs === undefined) head += 'o*';
  else {
    head += `o${outputs.length}`;
    for (const o of outputs)
      head += field(o.name) + field(String(o.classification ?? 0)) + params(o.parameters, OUTPUT_NOT_IN_KEY);
  }
  head += params(request.parameters, NOT_IN_KEY);
  const h = createHash('sha256').update(head);
  for (const t of inputs) {
    if (isBytesData(t.data)) for (const e of t.data) h.update(e);
    else h.update(bytesOf(t.data));
  }
  return h.digest('hex');
}

/** The entry's key: the scope of this tenant on this loaded version, then the request's digest. */
export function responseKey(tenant: string | undefined, spec: ModelVersionSpec, digest: string): string {
  return scope(tenant, spec) + digest;
}

const scopes = new WeakMap<ModelVersionSpec, Map<string | undefined, string>>();
/** Tenants remembered per version; past this the memo starts over (it only saves a hash). */
const MAX_TENANTS = 4096;

function scope(tenant: string | undefined, spec: ModelVersionSpec): string {
  let byTenant = scopes.get(spec);
  if (byTenant === undefined) {
    byTenant = new Map();
    scopes.set(spec, byTenant);
  }
  let s = byTenant.get(tenant);
  if (s === undefined) {
    const text = JSON.stringify([KEY_FORMAT, tenant ?? null, spec.model, spec.version, fingerprint(spec)]);
    s = `${createHash('sha256').update(text).digest('hex').slice(0, 32)}:`;
    if (byTenant.size >= MAX_TENANTS) byTenant.clear();
    byTenant.set(tenant, s);
  }
  return s;
}

const fingerprints = new WeakMap<ModelVersionSpec, string>();

/** What identifies a loaded version's answers beyond its number; computed once per loaded spec. */
export function fingerprint(spec: ModelVersionSpec): string {
  let f = fingerprints.get(spec);
  if (f === undefined) {
    const signature = {
      file: spec.source?.sha256 ?? '',
      maxBatchSize: spec.maxBatchSize,
      inputs: spec.inputs,
      outputs: spec.outputs,
      bytesAsText: spec.bytesAsText === true,
    };
    f = createHash('sha256').update(JSON.stringify(signature)).digest('hex');
    fingerprints.set(spec, f);
  }
  return f;
}

/** A length-prefixed field: `3:abc`. */
function field(s: string): string {
  return `${s.length}:${s}`;
}

/** Parameters as count, then sorted name, type and value fields, without the ignored names. */
function params(p: Readonly<Record<string, ParamValue>> | undefined, ignored: ReadonlySet<string>): string {
  if (p === undefined) return 'p0';
  const keys = Object.keys(p);
  if (keys.length === 0) return 'p0';
  let n = 0;
  let out = '';
  for (const k of keys.sort()) {
    if (ignored.has(k)) continue;
    n++;
    out += field(k) + field(typeof p[k]) + field(String(p[k]));
  }
  return `p${n}${out}`;
}
