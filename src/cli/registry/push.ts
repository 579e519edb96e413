/**
 * `infergate registry push NAME SOURCE` and `infergate registry import mlflow://…`: register a
 * version from a local path (an .onnx file, a version folder, a Triton model folder), an https
 * URL or an MLflow server. Prints a progress bar on a terminal; nothing is registered unless
 * every file arrived whole and matched its checksum.
 */
import { SingleBar } from 'cli-progress';
import type { Command } from 'commander';
import { InferError } from '../../core/index.js';
import { checkVersionNumber } from '../../registry/names.js';
import type { Lineage, VersionRecord } from '../../registry/types.js';
import {
  collect,
  numbers,
  pairs,
  printJson,
  type RegistryCli,
  runWithRegistry,
  withRegistryOptions,
} from './context.js';
import { onnxSignature } from './signature.js';

interface PushFlags {
  asVersion?: string;
  tag: string[];
  metric: string[];
  parent?: string;
  transform?: string;
  alias?: string;
  fromVersion?: string;
  sha256?: string;
}

export function registerPush(registry: Command): void {
  const push = registry
    .command('push')
    .description(
      'register a new version from a local path (.onnx, version folder, Triton model folder) or an https URL',
    )
    .argument('<name>', 'model name')
    .argument('<source>', 'path or https:// URL (append #sha256=<hex> to a URL to verify it)');
  withSourceFlags(withRegistryOptions(push))
    .option('--from-version <n>', 'with a Triton model folder: which version folder to take (default: the highest)')
    .option('--sha256 <hex>', 'expected sha256 of a single-file URL source')
    .action(async (name: string, source: string, flags: PushFlags, cmd: Command) =>
      runWithRegistry(cmd, (r) => pushAndReport(r, source, name, flags), {
        fromVersion: flags.fromVersion === undefined ? undefined : checkVersionNumber(flags.fromVersion),
        sha256: flags.sha256,
      }),
    );
  const imp = registry
    .command('import')
    .description('import a version from an MLflow server: mlflow://HOST:PORT/NAME[@ALIAS|/VERSION]')
    .argument('<uri>', 'mlflow:// URI (mlflows:// for https)')
    .option('--name <name>', 'registry model name (default: the MLflow registered model name)');
  withSourceFlags(withRegistryOptions(imp)).action(
    async (uri: string, flags: PushFlags & { name?: string }, cmd: Command) => {
      if (!/^mlflows?:\/\//.test(uri)) {
        console.error('infergate registry import: expected mlflow://HOST:PORT/NAME[@ALIAS|/VERSION]');
        process.exitCode = 1;
        return;
      }
      await runWithRegistry(cmd, (r) => pushAndReport(r, uri, flags.name, flags));
    },
  );
}

function withSourceFlags(cmd: Command): Command {
  return (
    cmd
      // Not --version: the program's own --version would answer it.
      .option('--as-version <n>', 'version number to register (default: the next one)')
      .option('--tag <key=value>', 'tag the version (repeatable)', collect, [])
      .option('--metric <key=number>', 'record a metric such as accuracy (repeatable)', collect, [])
      .option('--parent <name:version>', 'the registered version this one derives from (lineage)')
      .option('--transform <what>', 'how it was derived from its parent (lineage), e.g. int8-static')
      .option('--alias <alias>', 'then point this alias at the new version (protected aliases need validation)')
  );
}

async function pushAndReport(
  r: RegistryCli,
  source: string,
  name: string | undefined,
  flags: PushFlags,
): Promise<void> {
  const bar =
    process.stderr.isTTY && !r.json
      ? new SingleBar({ format: 'pushing [{bar}] {percentage}% {value}/{total} bytes' })
      : undefined;
  let started = false;
  const record: VersionRecord = await r.service
    .push(
      source,
      {
        model: name,
        version: flags.asVersion === undefined ? undefined : checkVersionNumber(flags.asVersion),
        tags: pairs(flags.tag, 'tag'),
        metrics: numbers(flags.metric, 'metric'),
        lineage: lineageOf(flags),
        signatureOf: onnxSignature,
        onProgress: (done, total) => {
          if (!bar || total === 0) return;
          if (!started) bar.start(total, 0);
          started = true;
          bar.update(Math.min(done, total));
        },
      },
      r.actor,
    )
    .finally(() => bar?.stop());
  const alias = flags.alias
    ? await r.service.setAlias({ model: record.model, alias: flags.alias, version: record.version }, r.actor)
    : undefined;
  if (r.json) return printJson(alias ? { ...record, alias } : record);
  const bytes = record.files.reduce((n, f) => n + f.size, 0);
  console.log(
    `registered ${record.model} version ${record.version} (${record.files.length} files, ${bytes} bytes) from ${record.sourceUri}`,
  );
  if (alias) console.log(`alias ${alias.alias} → ${alias.version}`);
}

function lineageOf(flags: PushFlags): Lineage | undefined {
  const out: Lineage = {};
  if (flags.parent) {
    const m = /^(.+):([0-9]+)$/.exec(flags.parent);
    if (!m) throw new InferError('IG_ERR_INVALID_ARG', `--parent '${flags.parent}' must be NAME:VERSION`);
    out.parent = { model: m[1] as string, version: checkVersionNumber(m[2] as string) };
  }
  if (flags.transform) out.transform = flags.transform;
  return Object.keys(out).length ? out : undefined;
}
