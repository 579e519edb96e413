/**
 * A TypeScript model's code as one file a worker can import: the model file and its relative
 * imports bundled with esbuild (already a dependency: it bundles the ORT worker under tsx), once
 * per version, into a private temporary folder.
 *
 * Packages (bare imports) are not bundled: each is resolved as Node would from the model's folder
 * (or, failing that, from the server's own node_modules, so a model anywhere may use what the
 * server has, e.g. pngjs) and imported from its absolute path, so Node loads it natively, files
 * and native addons beside it included. `infergate/model` is this backend's api.ts. An inline
 * source map makes the server log's stack traces name the model's own files and lines.
 *
 * Every failure is an IG_ERR_MODEL_LOAD naming the model, with paths relative to the version
 * folder (client-facing texts never carry absolute paths).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { isBuiltin } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Message, Plugin } from 'esbuild';
import { InferError, type ModelVersionSpec } from '../../core/index.js';
import { cleanReason, messageOf } from '../ort/reasons.js';

/** A bundled version: where the worker imports it from, its size, and how to remove it. */
export interface ModelBundle {
  readonly url: string;
  readonly bytes: number;
  dispose(): void;
}

const FROM_SOURCE = import.meta.url.endsWith('.ts');
/** What `import … from 'infergate/model'` means inside a model. */
const API_FILE = fileURLToPath(new URL(FROM_SOURCE ? './api.ts' : './api.js', import.meta.url));
/** Runtime files a package import may resolve to and Node can load itself. */
const NATIVE_LOADABLE = /\.(?:c|m)?js$/;

let folder: string | undefined;
let counter = 0;

/** The process's private folder of bundles, removed when the process exits. */
function bundleFolder(): string {
  if (folder === undefined) {
    const dir = mkdtempSync(join(tmpdir(), 'infergate-ts-models-'));
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    folder = dir;
  }
  return folder;
}

/** The node_modules folder the server's own packages come from (esbuild is one of them). */
function serverNodeModules(): string[] {
  const parts = fileURLToPath(import.meta.resolve('esbuild')).split(sep);
  const at = parts.lastIndexOf('node_modules');
  return at < 0 ? [] : [parts.slice(0, at + 1).join(sep)];
}

/** Bare imports: the api alias, Node built-ins left alone, packages imported from where they are. */
const packagesFromDisk: Plugin = {
  name: 'infergate-packages',
  setup(b) {
    b.onResolve({ filter: /^infergate\/model$/ }, () => ({ path: API_FILE }));
    b.onResolve({ filter: /^[^./]/ }, async (args) => {
      if (args.pluginData === 'resolving' || isBuiltin(args.path)) return undefined;
      const found = await b.resolve(args.path, {
        kind: args.kind,
        resolveDir: args.resolveDir,
        importer: args.importer,
        pluginData: 'resolving',
      });
      if (found.errors.length > 0) return { errors: found.errors };
      // A package shipping TypeScript or JSON is bundled like the model's own files.
      if (!NATIVE_LOADABLE.test(found.path)) return found;
      return { path: pathToFileURL(found.path).href, external: true };
    });
  },
};

/** One esbuild message as `file:line:column: text`, the file relative to the version folder. */
function describe(m: Message, versionDir: string): string {
  const where = m.location
    ? `${relative(versionDir, m.location.file) || m.location.file}:${m.location.line}:${m.location.column}: `
    : '';
  return cleanReason(`${where}${m.text}`);
}

function loadFailure(spec: ModelVersionSpec, reason: string, cause?: unknown): InferError {
  return new InferError(
    'IG_ERR_MODEL_LOAD',
    `failed to load model '${spec.model}' version ${spec.version}: ${reason}`,
    {
      cause,
    },
  );
}

/**
 * Bundles the version's model file (`spec.path`; from `spec.source`'s bytes when the supply policy
 * read them) into the bundle folder. Rejects with IG_ERR_MODEL_LOAD: file missing, syntax or type
 * stripping errors, an import that does not resolve.
 */
export async function bundleModel(spec: ModelVersionSpec): Promise<ModelBundle> {
  const versionDir = dirname(spec.path);
  const file = relative(versionDir, spec.path);
  if (spec.source === undefined && !(await stat(spec.path).catch(() => undefined))?.isFile())
    throw loadFailure(spec, `model file '${file}' not found`);
  const outfile = join(bundleFolder(), `${spec.model}-${spec.version}-${++counter}.mjs`);
  const { build } = await import('esbuild');
  try {
    await build({
      ...(spec.source === undefined
        ? { entryPoints: [spec.path] }
        : {
            stdin: {
              contents: new TextDecoder().decode(spec.source.bytes),
              resolveDir: versionDir,
              sourcefile: spec.path,
              loader: /\.(?:c|m)?js$/.test(file) ? 'js' : 'ts',
            },
          }),
      outfile,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      sourcemap: 'inline',
      sourcesContent: false,
      nodePaths: serverNodeModules(),
      plugins: [packagesFromDisk],
      logLevel: 'silent',
    });
    return {
      url: pathToFileURL(outfile).href,
      bytes: (await stat(outfile)).size,
      dispose: () => rmSync(outfile, { force: true }),
    };
  } catch (err) {
    const errors = (err as { errors?: Message[] }).errors;
    const reason =
      errors && errors.length > 0
        ? errors
            .slice(0, 3)
            .map((m) => describe(m, versionDir))
            .join('; ')
        : cleanReason(messageOf(err));
    throw loadFailure(spec, `the model's code does not build: ${reason}`, err);
  }
}
