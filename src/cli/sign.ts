/**
 * The model supply-chain commands: `sign`, `verify`, `keygen` and `encrypt` (logic in supply/).
 *   infergate keygen --out DIR                      Ed25519 pair: DIR/private.pem (0600), DIR/public.pem
 *   infergate keygen --aes --out FILE               a base64 AES-256 model key (0600)
 *   infergate sign MODEL_DIR[/VERSION] --key private.pem
 *   infergate verify MODEL_DIR[/VERSION] --trusted-key public.pem   (exit 1 naming the problem)
 *   infergate encrypt MODEL_FILE --key-file K       writes MODEL_FILE.enc
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import type { Command } from 'commander';
import { parseVersionDir } from '../repository/names.js';
import { encryptFile, generateModelKey, loadModelKey } from '../supply/encrypt.js';
import { checkExternalData } from '../supply/external-data.js';
import { readTrustedKeys, writeSigningPair } from '../supply/keys.js';
import { signVersion, verifyVersion } from '../supply/manifest.js';

/** One version directory to sign or verify. */
interface Target {
  model: string;
  version: number;
  dir: string;
}

/** MODEL_DIR/VERSION is one version; MODEL_DIR is every numbered sub-directory of it. */
function targets(path: string, model?: string): Target[] {
  const abs = resolve(path);
  if (!statSync(abs).isDirectory()) throw new Error(`'${path}' is not a directory`);
  const v = parseVersionDir(basename(abs));
  if (v !== undefined) return [{ model: model ?? basename(dirname(abs)), version: v, dir: abs }];
  const versions = readdirSync(abs, { withFileTypes: true })
    .map((e) => ({ e, v: parseVersionDir(e.name) }))
    .filter((x) => x.v !== undefined && x.e.isDirectory())
    .sort((a, b) => a.v! - b.v!);
  if (versions.length === 0) throw new Error(`'${path}' has no version directories`);
  return versions.map((x) => ({ model: model ?? basename(abs), version: x.v!, dir: resolve(abs, x.e.name) }));
}

/** Prints `infergate <cmd>: <message>` and sets exit code 1 (the commands never throw a stack). */
function failed(cmd: string, err: unknown): void {
  console.error(`infergate ${cmd}: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
}

/** Refuses to sign a model whose external data escapes its folder (S10): such a model never loads. */
async function checkOnnx(relPath: string, absPath: string): Promise<void> {
  if (relPath.endsWith('.onnx')) await checkExternalData(await readFile(absPath), dirname(absPath));
}

function registerSign(program: Command): void {
  program
    .command('sign')
    .description('write a signed manifest (sha256 of every file, Ed25519) into a model version, or every version')
    .argument('<path>', 'MODEL_DIR (all versions) or MODEL_DIR/VERSION')
    .requiredOption('--key <file>', 'Ed25519 private key (PEM), e.g. from `infergate keygen`')
    .option('--model <name>', 'model name to sign for (default: the model directory name)')
    .action(async (path: string, opts: { key: string; model?: string }) => {
      try {
        const privateKeyPem = readFileSync(opts.key);
        for (const t of targets(path, opts.model)) {
          const m = await signVersion(t.dir, { model: t.model, version: t.version, privateKeyPem, check: checkOnnx });
          console.log(`signed ${t.model}/${t.version}: ${m.files.length} files, key ${m.keyId}`);
        }
      } catch (err) {
        failed('sign', err);
      }
    });
}

function registerVerify(program: Command): void {
  program
    .command('verify')
    .description('check a model version (or every version) against its signed manifest; exit 1 naming the problem')
    .argument('<path>', 'MODEL_DIR (all versions) or MODEL_DIR/VERSION')
    .requiredOption('--trusted-key <file>', 'Ed25519 public key (PEM) to trust (repeatable)', collect, [])
    .option('--model <name>', 'model name the manifest must name (default: the model directory name)')
    .action(async (path: string, opts: { trustedKey: string[]; model?: string }) => {
      try {
        const trustedPublicKeys = opts.trustedKey.flatMap((f) => readTrustedKeys(f));
        for (const t of targets(path, opts.model)) {
          try {
            const v = await verifyVersion(t.dir, { model: t.model, version: t.version, trustedPublicKeys });
            console.log(`ok ${t.model}/${t.version}: ${v.files.size} files match, key ${v.manifest.keyId}`);
          } catch (err) {
            failed('verify', new Error(`${t.model}/${t.version}: ${(err as Error).message}`));
          }
        }
      } catch (err) {
        failed('verify', err);
      }
    });
}

function registerKeygen(program: Command): void {
  program
    .command('keygen')
    .description('generate an Ed25519 signing pair (--out DIR) or, with --aes, a model encryption key (--out FILE)')
    .requiredOption('--out <path>', 'directory for private.pem/public.pem, or the key file with --aes')
    .option('--aes', 'write a base64 AES-256 model key instead (file mode 0600)')
    .action(async (opts: { out: string; aes?: boolean }) => {
      try {
        if (opts.aes) {
          await writeFile(opts.out, `${generateModelKey()}\n`, { flag: 'wx', mode: 0o600 });
          console.log(`model key written to ${opts.out} (keep it secret; serve with --model-key-file)`);
          return;
        }
        const { privateKey, publicKey } = await writeSigningPair(opts.out);
        console.log(`private key ${privateKey} (mode 0600, sign with it), public key ${publicKey} (trust it)`);
      } catch (err) {
        failed('keygen', err);
      }
    });
}

function registerEncrypt(program: Command): void {
  program
    .command('encrypt')
    .description('encrypt a model file with AES-256-GCM (writes MODEL_FILE.enc; the server decrypts in memory)')
    .argument('<file>', 'model file, e.g. model.onnx')
    .option('--key-file <file>', 'base64 AES-256 key (default: $INFERGATE_MODEL_KEY)')
    .option('--out <file>', 'output file (default: <file>.enc)')
    .action(async (file: string, opts: { keyFile?: string; out?: string }) => {
      try {
        const key = await loadModelKey(opts.keyFile);
        if (key === undefined) throw new Error('no key: give --key-file or set INFERGATE_MODEL_KEY');
        const out = opts.out ?? `${file}.enc`;
        await encryptFile(file, out, key);
        console.log(`encrypted ${file} → ${out} (remove the plaintext from the model repository)`);
      } catch (err) {
        failed('encrypt', err);
      }
    });
}

function collect(v: string, prev: string[]): string[] {
  return [...prev, v];
}

/** Registers sign, verify, keygen and encrypt. */
export function registerSupplyCommands(program: Command): void {
  registerSign(program);
  registerVerify(program);
  registerKeygen(program);
  registerEncrypt(program);
}
