/**
 * Signed manifests of a model version directory (reliability.md S11): every file's sha256 and
 * size, the model name and version, signed with Ed25519 over the manifest's canonical JSON.
 * Stored beside the files as `manifest.json` (readable) and `manifest.sig` (base64 signature).
 *
 * Verification checks the signature first (nothing in an unsigned manifest is trusted), then the
 * name and version (a valid signature for another model must not serve this one), then the
 * directory against the list: a file removed, added or changed is refused, naming the file.
 */
import { createHash, createPrivateKey, createPublicKey, type KeyObject, sign, verify } from 'node:crypto';
import { lstat, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InferError } from '../core/errors.js';
import { listVersionFiles, MANIFEST_FILE, quoted, readHashed, SIGNATURE_FILE, supplyError } from './files.js';

export const MANIFEST_FORMAT = 'infergate-manifest/1';

/** One file of a version, by POSIX path relative to the version directory. */
export interface ManifestFile {
  path: string;
  sha256: string;
  size: number;
}

/** What is signed. `keyId` names the signing key so a refusal can say "untrusted" vs "altered". */
export interface Manifest {
  format: typeof MANIFEST_FORMAT;
  model: string;
  version: number;
  files: ManifestFile[];
  /** ISO 8601 time of signing (informational). */
  created: string;
  keyId: string;
}

/** A manifest larger than this is not one (a million files would be ~150 MB of JSON). */
const MAX_MANIFEST_BYTES = 16 << 20;

/** JSON with object keys sorted at every level and no whitespace: the bytes that are signed. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.keys(value as object)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`);
    return `{${entries.join(',')}}`;
  }
  return JSON.stringify(value);
}

/** A short stable id of an Ed25519 public key: sha256 of its SPKI DER, first 16 hex digits. */
export function keyIdOf(key: KeyObject): string {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  return createHash('sha256')
    .update(pub.export({ type: 'spki', format: 'der' }))
    .digest('hex')
    .slice(0, 16);
}

function ed25519(key: KeyObject, what: string): KeyObject {
  if (key.asymmetricKeyType !== 'ed25519') throw new Error(`${what} is not an Ed25519 key`);
  return key;
}

/** Options of signVersion. */
export interface SignOptions {
  model: string;
  version: number;
  privateKeyPem: string | Buffer;
  /** Runs on every file (relative and absolute path) before it is hashed: refusing throws (e.g. the S10 check). */
  check?: (relPath: string, absPath: string) => Promise<void>;
}

/** Writes a file next to its final name first, then renames: a reader never sees half a manifest. */
async function writeAtomic(path: string, data: string): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, data);
  await rename(tmp, path);
}

/** Lists and hashes every file of `dir`, signs the manifest and writes manifest.json + manifest.sig. */
export async function signVersion(dir: string, o: SignOptions): Promise<Manifest> {
  const key = ed25519(createPrivateKey(o.privateKeyPem), 'the signing key');
  const listed = await listVersionFiles(dir);
  const files: ManifestFile[] = [];
  for (const path of [...listed.keys()].sort()) {
    await o.check?.(path, join(dir, path));
    const { sha256, size } = await readHashed(join(dir, path), path, false);
    files.push({ path, sha256, size });
  }
  const manifest: Manifest = {
    format: MANIFEST_FORMAT,
    model: o.model,
    version: o.version,
    files,
    created: new Date().toISOString(),
    keyId: keyIdOf(key),
  };
  const signature = sign(null, Buffer.from(canonicalJson(manifest)), key);
  await writeAtomic(join(dir, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
  await writeAtomic(join(dir, SIGNATURE_FILE), `${signature.toString('base64')}\n`);
  return manifest;
}

/** Options of verifyVersion. */
export interface VerifyOptions {
  model: string;
  version: number;
  trustedPublicKeys: readonly KeyObject[];
  /** Relative paths whose bytes to keep: read once, hashed as read, returned for loading. */
  keep?: readonly string[];
}

/** A verified version: every file's hash, and the kept files' bytes (exactly the hashed bytes). */
export interface VerifiedVersion {
  manifest: Manifest;
  files: Map<string, string>;
  kept: Map<string, Uint8Array>;
}

const FAILED = 'signed manifest check failed: ';

function fail(reason: string, cause?: unknown): never {
  throw supplyError(`${FAILED}${reason}`, cause);
}

/** Reads of the directory fail with the same prefix as every other refusal (the index shows one reason). */
async function checked<T>(p: Promise<T>): Promise<T> {
  try {
    return await p;
  } catch (err) {
    if (err instanceof InferError) {
      if (err.message.startsWith(FAILED)) throw err;
      fail(err.message, err);
    }
    fail(`the version directory cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`, err);
  }
}

async function readSmall(dir: string, name: string): Promise<Buffer> {
  const path = join(dir, name);
  const st = await lstat(path).catch(() => undefined);
  if (st === undefined) fail(`no ${name} in the version directory (the version is not signed)`);
  if (!st.isFile()) fail(`${name} is not a regular file`);
  if (st.size > MAX_MANIFEST_BYTES) fail(`${name} is larger than ${MAX_MANIFEST_BYTES} bytes`);
  return readFile(path);
}

/** The manifest's shape, checked field by field (it is untrusted input until the signature verifies). */
function parseManifest(text: string): Manifest {
  let m: unknown;
  try {
    m = JSON.parse(text);
  } catch (err) {
    fail('manifest.json is not valid JSON', err);
  }
  const o = m as Record<string, unknown>;
  const ok =
    typeof o === 'object' &&
    o !== null &&
    o['format'] === MANIFEST_FORMAT &&
    typeof o['model'] === 'string' &&
    Number.isSafeInteger(o['version']) &&
    typeof o['created'] === 'string' &&
    typeof o['keyId'] === 'string' &&
    Array.isArray(o['files']) &&
    (o['files'] as unknown[]).every((f) => {
      const e = f as Record<string, unknown>;
      return (
        typeof e === 'object' &&
        e !== null &&
        typeof e['path'] === 'string' &&
        typeof e['sha256'] === 'string' &&
        /^[0-9a-f]{64}$/.test(e['sha256']) &&
        Number.isSafeInteger(e['size']) &&
        (e['size'] as number) >= 0
      );
    });
  if (!ok) fail(`manifest.json is not an ${MANIFEST_FORMAT} manifest`);
  return m as Manifest;
}

function checkSignature(manifest: Manifest, sigText: string, keys: readonly KeyObject[]): void {
  const b64 = sigText.trim();
  const signature = Buffer.from(b64, 'base64');
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64) || signature.length !== 64) fail('manifest.sig is not an Ed25519 signature');
  const data = Buffer.from(canonicalJson(manifest));
  if (keys.some((k) => verify(null, data, k, signature))) return;
  // Ed25519 cannot tell a wrong key from altered data; the key id in the manifest can.
  if (keys.some((k) => keyIdOf(k) === manifest.keyId))
    fail('the signature does not match: the manifest or its signature was altered after signing');
  fail(`the manifest is not signed by a trusted key (signed by key ${quoted(manifest.keyId)})`);
}

/**
 * Verifies `dir` against its signed manifest; throws IG_ERR_MODEL_LOAD naming the first problem.
 * Each file is read once; the `keep` files' bytes are returned as read, so loading them has no
 * time-of-check/time-of-use gap.
 */
export async function verifyVersion(dir: string, o: VerifyOptions): Promise<VerifiedVersion> {
  if (o.trustedPublicKeys.length === 0) fail('no trusted public key is configured');
  const keys = o.trustedPublicKeys.map((k) => ed25519(k.type === 'private' ? createPublicKey(k) : k, 'a trusted key'));
  const manifest = parseManifest((await readSmall(dir, MANIFEST_FILE)).toString('utf8'));
  checkSignature(manifest, (await readSmall(dir, SIGNATURE_FILE)).toString('utf8'), keys);
  if (manifest.model !== o.model) fail(`the manifest is for model ${quoted(manifest.model)}, not ${quoted(o.model)}`);
  if (manifest.version !== o.version) fail(`the manifest is for version ${manifest.version}, not ${o.version}`);

  const onDisk = await checked(listVersionFiles(dir));
  const listed = new Map(manifest.files.map((f) => [f.path, f]));
  for (const f of manifest.files) if (!onDisk.has(f.path)) fail(`file removed: ${quoted(f.path)}`);
  for (const path of [...onDisk.keys()].sort()) if (!listed.has(path)) fail(`file added: ${quoted(path)}`);
  for (const f of manifest.files) if (onDisk.get(f.path) !== f.size) fail(`file changed: ${quoted(f.path)}`);

  const keep = new Set(o.keep ?? []);
  for (const k of keep) if (!listed.has(k)) fail(`file ${quoted(k)} is not in the manifest`);
  const files = new Map<string, string>();
  const kept = new Map<string, Uint8Array>();
  for (const f of [...manifest.files].sort((a, b) => a.path.localeCompare(b.path))) {
    const read = await checked(readHashed(join(dir, f.path), f.path, keep.has(f.path)));
    if (read.sha256 !== f.sha256 || read.size !== f.size) fail(`file changed: ${quoted(f.path)}`);
    files.set(f.path, f.sha256);
    if (read.bytes) kept.set(f.path, read.bytes);
  }
  return { manifest, files, kept };
}
