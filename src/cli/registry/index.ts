/** `infergate registry …`: one file per subcommand in this folder. */
import type { Command } from 'commander';
import { registerAlias } from './alias.js';
import { registerHistory } from './history.js';
import { registerList } from './list.js';
import { registerPin } from './pin.js';
import { registerPush } from './push.js';
import { registerShow } from './show.js';
import { registerValidate } from './validate.js';

export function registerRegistryCommand(program: Command): void {
  const registry = program
    .command('registry')
    .description('model registry: versions with checksums and lineage, aliases, validation gate, audit log');
  registerList(registry);
  registerShow(registry);
  registerPush(registry);
  registerAlias(registry);
  registerPin(registry);
  registerHistory(registry);
  registerValidate(registry);
}
