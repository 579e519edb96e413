/** `infergate registry list`: every model with its version count, latest version and aliases. */
import type { Command } from 'commander';
import { printJson, runWithRegistry, table, withRegistryOptions } from './context.js';

export function registerList(registry: Command): void {
  withRegistryOptions(
    registry.command('list').description('list the registered models, their latest versions and aliases'),
  ).action(async (_o, cmd: Command) =>
    runWithRegistry(cmd, async (r) => {
      const models = await r.service.listModels();
      if (r.json) return printJson(models);
      const aliases = (a: Record<string, number>) =>
        Object.entries(a)
          .map(([k, v]) => `${k}→${v}`)
          .join(' ');
      console.log(
        table(
          ['model', 'versions', 'latest', 'aliases'],
          models.map((m) => [m.name, m.versions, m.latest ?? '-', aliases(m.aliases)]),
        ),
      );
    }),
  );
}
