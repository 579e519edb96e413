/** `infergate registry show NAME [VERSION|ALIAS]`: a model's versions and aliases, or one version in full. */
import type { Command } from 'commander';
import type { VersionRecord } from '../../registry/types.js';
import { printJson, runWithRegistry, table, withRegistryOptions } from './context.js';

export function registerShow(registry: Command): void {
  withRegistryOptions(
    registry
      .command('show')
      .description('show a model (versions, aliases) or one version (files, lineage, validation)')
      .argument('<name>', 'model name')
      .argument('[version]', 'version number or alias'),
  ).action(async (name: string, version: string | undefined, _o, cmd: Command) =>
    runWithRegistry(cmd, async (r) => {
      if (version !== undefined) {
        const v = await r.service.showVersion(name, version);
        return r.json ? printJson(v) : console.log(describeVersion(v));
      }
      const d = await r.service.showModel(name);
      if (r.json) return printJson(d);
      const named = (n: number) =>
        d.aliases.filter((a) => a.version === n).map((a) => a.alias + (a.protected ? '*' : ''));
      console.log(
        table(
          ['version', 'created', 'by', 'source', 'validated', 'aliases'],
          d.versions.map((v) => [
            v.version + (v.pinned ? ' (pinned)' : ''),
            v.createdAt,
            v.createdBy,
            v.sourceUri,
            v.validation ? (v.validation.passed ? 'passed' : 'FAILED') : '-',
            named(v.version).join(' '),
          ]),
        ),
      );
      if (d.aliases.some((a) => a.protected)) console.log('* protected: moves only to a validated version');
    }),
  );
}

function describeVersion(v: VersionRecord): string {
  const lines = [
    `${v.model} version ${v.version}${v.pinned ? ' (pinned)' : ''}`,
    `  created   ${v.createdAt} by ${v.createdBy}`,
    `  source    ${v.sourceUri} (${v.format})`,
  ];
  for (const f of v.files) lines.push(`  file      ${f.path}  ${f.size} B  sha256:${f.sha256}`);
  if (v.signature) {
    const io = (ts: typeof v.signature.inputs) =>
      ts.map((t) => `${t.name} ${t.datatype}[${t.shape.join(',')}]`).join(', ');
    lines.push(`  inputs    ${io(v.signature.inputs)}`, `  outputs   ${io(v.signature.outputs)}`);
  }
  if (Object.keys(v.tags).length) lines.push(`  tags      ${JSON.stringify(v.tags)}`);
  if (Object.keys(v.metrics).length) lines.push(`  metrics   ${JSON.stringify(v.metrics)}`);
  if (Object.keys(v.lineage).length) lines.push(`  lineage   ${JSON.stringify(v.lineage)}`);
  if (v.validation) {
    const val = v.validation;
    lines.push(
      `  validated ${val.at} by ${val.by}: ${val.passed ? 'passed' : 'FAILED'}${val.baseline ? ` (against v${val.baseline})` : ''}`,
    );
    for (const c of val.checks)
      lines.push(
        `    ${c.passed ? 'ok  ' : 'FAIL'} ${c.name} ${c.value ?? '-'} ${c.kind === 'min' ? '≥' : '≤'} ${c.threshold}${c.note ? ` (${c.note})` : ''}`,
      );
  }
  return lines.join('\n');
}
