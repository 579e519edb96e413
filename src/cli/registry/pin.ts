/** `infergate registry pin|unpin NAME VERSION`: serve a version in registry mode even when no alias names it. */
import type { Command } from 'commander';
import { printJson, runWithRegistry, withRegistryOptions } from './context.js';

export function registerPin(registry: Command): void {
  for (const [verb, pinned] of [
    ['pin', true],
    ['unpin', false],
  ] as const) {
    withRegistryOptions(
      registry
        .command(verb)
        .description(pinned ? 'keep a version loaded in registry mode even when no alias names it' : 'undo pin')
        .argument('<name>', 'model name')
        .argument('<version>', 'version number or alias'),
    ).action(async (name: string, version: string, _o, cmd: Command) =>
      runWithRegistry(cmd, async (r) => {
        const v = await r.service.updateVersion(name, version, { pinned }, r.actor);
        if (r.json) return printJson(v);
        console.log(`${v.model} version ${v.version} ${pinned ? 'pinned' : 'unpinned'}`);
      }),
    );
  }
}
