/** Key files of the supply chain: Ed25519 signing pairs (PEM) and trusted public keys. */
import { createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** File names `infergate keygen --out DIR` writes. */
export const PRIVATE_KEY_FILE = 'private.pem';
export const PUBLIC_KEY_FILE = 'public.pem';

/**
 * The Ed25519 public keys in a PEM file (one or several concatenated). Read synchronously: it runs
 * once at startup or in the CLI, never per request.
 */
export function readTrustedKeys(file: string): KeyObject[] {
  const text = readFileSync(file, 'utf8');
  const blocks = text.match(/-----BEGIN PUBLIC KEY-----[\s\S]+?-----END PUBLIC KEY-----/g) ?? [];
  if (blocks.length === 0) throw new Error(`trusted key file '${file}' holds no PEM public key`);
  return blocks.map((pem) => {
    const key = createPublicKey(pem);
    if (key.asymmetricKeyType !== 'ed25519') throw new Error(`trusted key file '${file}' holds a non-Ed25519 key`);
    return key;
  });
}

/**
 * Writes a new Ed25519 pair into `dir`: the private key readable by its owner only (0600), the
 * public key for every server that should trust it. Existing files are never overwritten.
 */
export async function writeSigningPair(dir: string): Promise<{ privateKey: string; publicKey: string }> {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  await mkdir(dir, { recursive: true });
  const priv = join(dir, PRIVATE_KEY_FILE);
  const pub = join(dir, PUBLIC_KEY_FILE);
  await writeFile(priv, privateKey.export({ type: 'pkcs8', format: 'pem' }), { flag: 'wx', mode: 0o600 });
  await writeFile(pub, publicKey.export({ type: 'spki', format: 'pem' }), { flag: 'wx', mode: 0o644 });
  return { privateKey: priv, publicKey: pub };
}
