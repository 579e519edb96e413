/**
 * What every `infergate registry` command shares: where the registry is (`--registry DIR|URL`,
 * else $INFERGATE_REGISTRY), who acts (`--actor`, else cli:<login>), `--json` output, and one
 * error path (a coded error prints its message on one line and exits 1; never a stack).
 * The CLI works on the store directly, like `mlflow` against its backend store: a running
 * server sees the change within its poll interval.
 */
import { userInfo } from 'node:os';
import Table from 'cli-table3';
import type { Command } from 'commander';
import { InferError } from '../../core/index.js';
import { ArtifactStore } from '../../registry/artifacts.js';
import { artifactDir, openRegistryStore } from '../../registry/open.js';
import { RegistryService } from '../../registry/service.js';
import { createSourceResolver, operatorFetch } from '../../registry/sources/index.js';
import type { RegistryStore } from '../../registry/types.js';

export interface RegistryCli {
  service: RegistryService;
  store: RegistryStore;
  actor: string;
  json: boolean;
}

/** The options every registry subcommand takes (they may also be given before the subcommand). */
export function withRegistryOptions(cmd: Command): Command {
  return cmd
    .option('--registry <dir|url>', 'registry directory (SQLite) or postgres://… (default: $INFERGATE_REGISTRY)')
    .option('--registry-artifacts <dir>', 'artifact directory (required with PostgreSQL)')
    .option('--actor <name>', 'who the audit log records (default: cli:<login>)')
    .option('--json', 'print JSON instead of tables');
}

export interface Globals {
  registry?: string;
  registryArtifacts?: string;
  actor?: string;
  json?: boolean;
}

/** Opens the registry for one command, runs it, closes it; prints errors as one line. */
export function runWithRegistry(
  cmd: Command,
  fn: (r: RegistryCli) => Promise<void>,
  sourceOptions: { fromVersion?: number; sha256?: string } = {},
): Promise<void> {
  const name = cmd.parent?.name() === 'registry' ? `registry ${cmd.name()}` : cmd.name();
  return runWithRegistryAt(cmd.optsWithGlobals() as Globals, name, fn, sourceOptions);
}

/** The same for a command outside `registry` (e.g. `optimize auto --register`). */
export async function runWithRegistryAt(
  g: Globals,
  command: string,
  fn: (r: RegistryCli) => Promise<void>,
  sourceOptions: { fromVersion?: number; sha256?: string } = {},
): Promise<void> {
  let store: RegistryStore | undefined;
  try {
    const registry = g.registry ?? process.env.INFERGATE_REGISTRY;
    if (!registry)
      throw new InferError(
        'IG_ERR_INVALID_ARG',
        'say where the registry is: --registry DIR|postgres://… or INFERGATE_REGISTRY',
      );
    const loc = { registry, artifacts: g.registryArtifacts ?? process.env.INFERGATE_REGISTRY_ARTIFACTS };
    const artifacts = new ArtifactStore(artifactDir(loc));
    store = await openRegistryStore(loc);
    const service = new RegistryService({
      store,
      artifacts,
      resolveSource: createSourceResolver({ allowLocal: true, fetch: operatorFetch, ...sourceOptions }),
    });
    const actor = g.actor ?? process.env.INFERGATE_ACTOR ?? `cli:${login()}`;
    await fn({ service, store, actor, json: g.json === true });
  } catch (err) {
    console.error(`infergate ${command}: ${messageOf(err)}`);
    process.exitCode = 1;
  } finally {
    await store?.close().catch(() => undefined);
  }
}

function login(): string {
  try {
    return userInfo().username;
  } catch {
    return 'unknown';
  }
}

function messageOf(err: unknown): string {
  if (err instanceof InferError) return err.message;
  if (err instanceof Error && err.name === 'SchemaTooNewError') return err.message;
  // Anything else is unexpected: its message is still more useful to an operator than nothing.
  return err instanceof Error ? err.message : String(err);
}

/** A table in the terminal's style (plain borders when not a TTY, so output diffs cleanly). */
export function table(head: string[], rows: Array<Array<string | number>>): string {
  const plain = !process.stdout.isTTY;
  const t = new Table({ head, ...(plain ? { style: { head: [], border: [] } } : {}) });
  for (const r of rows) t.push(r.map(String));
  return t.toString();
}

export function printJson(value: unknown): void {
  console.log(JSON.stringify(value, null, 2));
}

/** `k=v` pairs from repeatable options. */
export function pairs(list: string[], what: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of list) {
    const i = item.indexOf('=');
    if (i <= 0) throw new InferError('IG_ERR_INVALID_ARG', `${what} '${item}' must be key=value`);
    out[item.slice(0, i)] = item.slice(i + 1);
  }
  return out;
}

export function numbers(list: string[], what: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(pairs(list, what))) {
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n))
      throw new InferError('IG_ERR_INVALID_ARG', `${what} '${k}' must be a number`);
    out[k] = n;
  }
  return out;
}

export function collect(v: string, prev: string[]): string[] {
  return [...prev, v];
}

/** Prints an audit verdict (registry audit log or security trail); exit code 1 when tampered. */
export function printVerdict(
  v: { ok: boolean; rows: number; head: string; problems: Array<{ seq: number; problem: string }> },
  json: boolean,
  what: string,
): void {
  if (json) printJson(v);
  else if (v.ok) console.log(`${what} intact: ${v.rows} rows, head ${v.head}`);
  else {
    console.log(`${what} TAMPERED: ${v.problems.length} problem(s) in ${v.rows} rows`);
    for (const p of v.problems) console.log(`  row ${p.seq}: ${p.problem}`);
  }
  if (!v.ok) process.exitCode = 1;
}
