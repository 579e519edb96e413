/**
 * The server's supply-chain policy, asked by the repository before a model file is inspected or
 * loaded (repository/types.ts `ModelSource`, matched structurally: supply does not import the
 * repository). Per version of an onnxruntime model:
 *
 * - signature required (`--require-signed`, or the config parameter `require_signed: "true"`):
 *   the version directory is verified against its signed manifest and the model file is read
 *   once, hashed as it is read; those bytes are what the worker loads (no time-of-check/time-of-
 *   use gap, reliability.md S11).
 * - encrypted (`<file>.enc`, the parameter `model_encrypted: "true"`, or an IGENC1 header): the
 *   ciphertext is read once the same way and decrypted inside the worker; the key id is checked
 *   here so a wrong key is refused with a clear reason before any worker starts.
 * - otherwise the file loads from its path as before, after the external-data check (S10).
 *
 * Every refusal is an IG_ERR_MODEL_LOAD for that version only; other versions keep serving.
 */
import type { KeyObject } from 'node:crypto';
import { open, readFile } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { InferError } from '../core/errors.js';
import type { ModelBytes, ModelFileRef } from '../core/model.js';
import { headerKeyId, isEncrypted, loadModelKey, modelKeyId } from './encrypt.js';
import { checkExternalData } from './external-data.js';
import { quoted, readHashed } from './files.js';
import { readTrustedKeys } from './keys.js';
import { verifyVersion } from './manifest.js';

/** A version's model file as the repository describes it. */
export type SupplyFileRef = ModelFileRef;

/** What the S11 test seam is told: the version and the sha256 of the bytes that will be loaded. */
export interface VerifiedFile {
  model: string;
  version: number;
  path: string;
  sha256: string;
}

/** Construction options of the policy. */
export interface SupplyPolicyOptions {
  /** Every onnxruntime version must carry a manifest signed by one of the trusted keys. */
  requireSigned?: boolean;
  trustedPublicKeys?: readonly KeyObject[];
  /** The AES-256 envelope key of encrypted models. */
  modelKey?: KeyObject;
  /**
   * Test seam: runs after the bytes were read and verified, before they go to the backend (the
   * S11 case rewrites the file here to show the verified bytes are the ones that load).
   */
  afterVerify?: (file: VerifiedFile) => void | Promise<void>;
}

const TRUE = new Set(['1', 'true', 'yes', 'on']);
const FALSE = new Set(['', '0', 'false', 'no', 'off']);

function flag(f: SupplyFileRef, key: string): boolean {
  const v = (f.parameters[key] ?? '').trim().toLowerCase();
  if (TRUE.has(v)) return true;
  if (FALSE.has(v)) return false;
  throw new Error(`parameter '${key}' must be a boolean (true/false/1/0), got ${quoted(v)}`);
}

/** The first bytes of a file (to recognise an encrypted one under a plain name). */
async function peek(path: string, n: number): Promise<Buffer> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(n);
    const { bytesRead } = await fh.read(buf, 0, n, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

/** The repository's ModelSource: verifies, reads once and checks external data (see the file comment). */
export class SupplyPolicy {
  readonly #o: SupplyPolicyOptions;

  constructor(options: SupplyPolicyOptions = {}) {
    this.#o = options;
  }

  /** The bytes to load (undefined: load from the path); rejects with IG_ERR_MODEL_LOAD naming the reason. */
  async open(f: SupplyFileRef): Promise<ModelBytes | undefined> {
    try {
      return await this.#open(f);
    } catch (err) {
      const detail =
        err instanceof InferError || !(err as NodeJS.ErrnoException).code
          ? (err as Error).message
          : `the model file cannot be read (${(err as NodeJS.ErrnoException).code})`;
      throw new InferError('IG_ERR_MODEL_LOAD', `failed to load model '${f.model}' version ${f.version}: ${detail}`, {
        cause: err,
      });
    }
  }

  async #open(f: SupplyFileRef): Promise<ModelBytes | undefined> {
    // Other runtimes read their own files; the manifest and envelope rules are onnxruntime's.
    if (f.backend !== 'onnxruntime') return undefined;
    const required = this.#o.requireSigned === true || flag(f, 'require_signed');
    const encryptedByName = f.path.endsWith('.enc') || flag(f, 'model_encrypted');
    const rel = relative(f.versionDir, f.path).split(sep).join('/');
    let bytes: Uint8Array;
    let sha256: string;
    let verified: Map<string, string> | undefined;
    if (required) {
      const keys = this.#o.trustedPublicKeys ?? [];
      if (keys.length === 0) throw new Error('a signed manifest is required but no trusted key is configured');
      const v = await verifyVersion(f.versionDir, {
        model: f.model,
        version: f.version,
        trustedPublicKeys: keys,
        keep: [rel],
      });
      bytes = v.kept.get(rel)!;
      sha256 = v.files.get(rel)!;
      verified = v.files;
    } else if (encryptedByName || isEncrypted(await peek(f.path, 6))) {
      const read = await readHashed(f.path, rel, true);
      bytes = read.bytes!;
      sha256 = read.sha256;
    } else {
      // Unsigned and plain: loads from its path as before, once its external data is checked.
      // A version the registry laid out holds hardlinks to blobs whose checksums it verified.
      const laidOut = await registryLaidOut(f.versionDir);
      const external = await checkExternalData(await readFile(f.path), dirname(f.path), {
        contentVerified: laidOut !== undefined,
      });
      for (const e of external) {
        const inVersion = relative(f.versionDir, join(dirname(f.path), e))
          .split(sep)
          .join('/');
        if (laidOut && !laidOut.has(inVersion))
          throw new Error(`external data ${quoted(e)} is not one of the registry version's files`);
      }
      return undefined;
    }
    await this.#o.afterVerify?.({ model: f.model, version: f.version, path: f.path, sha256 });
    if (encryptedByName || isEncrypted(bytes)) return this.#encrypted(bytes, sha256);
    // Under a verified manifest every external file's bytes are the signed ones: hardlinks are harmless.
    const external = await checkExternalData(bytes, dirname(f.path), { contentVerified: verified !== undefined });
    for (const e of external) {
      const inVersion = relative(f.versionDir, join(dirname(f.path), e))
        .split(sep)
        .join('/');
      if (verified && !verified.has(inVersion)) throw new Error(`external data ${quoted(e)} is not in the manifest`);
    }
    return external.length > 0 ? { bytes, sha256, externalDataDir: dirname(f.path) } : { bytes, sha256 };
  }

  /**
   * An encrypted model goes to the worker still encrypted, with the key. onnxruntime refuses
   * external data in a model loaded from bytes unless given a folder, and none is given here:
   * external files would sit on disk in plaintext, defeating the encryption.
   */
  #encrypted(bytes: Uint8Array, sha256: string): ModelBytes {
    if (!isEncrypted(bytes)) throw new Error('the model is configured as encrypted but the file has no IGENC1 header');
    const key = this.#o.modelKey;
    if (key === undefined)
      throw new Error(
        'the model file is encrypted but no model key is configured (--model-key-file or INFERGATE_MODEL_KEY)',
      );
    const id = headerKeyId(bytes);
    if (id === undefined) throw new Error('the encrypted model file is truncated');
    if (id !== modelKeyId(key).toString('hex'))
      throw new Error('the model was encrypted with a different key than the configured model key');
    return { bytes, sha256, key };
  }
}

/**
 * The stamp the registry writes into each version folder it lays out (manager/layout.ts): the
 * files, each checked against its sha256 as it was linked from the artifact store.
 */
export const REGISTRY_STAMP = '.registry-files';

async function registryLaidOut(versionDir: string): Promise<Set<string> | undefined> {
  const text = await readFile(join(versionDir, REGISTRY_STAMP), 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  try {
    return new Set((JSON.parse(text) as Array<[string, string]>).map(([path]) => path));
  } catch {
    return undefined;
  }
}

/** Test-only seam for in-process servers, used only when INFERGATE_TEST_HOOKS=1 (see backend/ort/hooks.ts). */
export const supplyTestHooks: { afterVerify?: (file: VerifiedFile) => void | Promise<void> } = {};

/** Server flags of the supply chain (see server/options.ts). */
export interface SupplyFlags {
  requireSigned?: boolean | undefined;
  trustedKeys?: readonly string[] | undefined;
  modelKeyFile?: string | undefined;
}

/** The policy a server runs with, from its flags; throws at startup on an unreadable or bad key. */
export async function openSupplyPolicy(flags: SupplyFlags): Promise<SupplyPolicy> {
  const trustedPublicKeys = (flags.trustedKeys ?? []).flatMap((file) => readTrustedKeys(file));
  if (flags.requireSigned === true && trustedPublicKeys.length === 0)
    throw new Error('--require-signed needs at least one --trusted-key');
  const options: SupplyPolicyOptions = { requireSigned: flags.requireSigned === true, trustedPublicKeys };
  const modelKey = await loadModelKey(flags.modelKeyFile);
  if (modelKey !== undefined) options.modelKey = modelKey;
  if (process.env['INFERGATE_TEST_HOOKS'] === '1') options.afterVerify = (f) => supplyTestHooks.afterVerify?.(f);
  return new SupplyPolicy(options);
}
