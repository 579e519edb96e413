import Table from 'cli-table3';
import type { Command } from 'commander';
import { baseUrl, call } from './client.js';

interface Row {
  name: string;
  version?: string;
  state?: string;
  reason?: string;
}

/** `infergate models`: lists the models of a running server with their state. */
export function registerModelsCommand(program: Command): void {
  program
    .command('models')
    .description('list the models of a running server with their versions and states')
    .option('-u, --url <url>', 'server HTTP address', 'http://127.0.0.1:8000')
    .option('--ready', 'only ready models')
    .option('--json', 'print JSON instead of a table')
    .action(async (opts: { url: string; ready?: boolean; json?: boolean }) => {
      try {
        const rows = (await call(`${baseUrl(opts.url)}/v2/repository/index`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(opts.ready ? { ready: true } : {}),
        })) as Row[];
        if (opts.json) {
          console.log(JSON.stringify(rows, null, 2));
          return;
        }
        const plain = !process.stdout.isTTY;
        const table = new Table({
          head: ['model', 'version', 'state', 'reason'],
          ...(plain ? { style: { head: [], border: [] } } : {}),
        });
        for (const r of rows) table.push([r.name, r.version ?? '-', r.state ?? 'NOT LOADED', r.reason ?? '']);
        console.log(table.toString());
      } catch (err) {
        console.error(`infergate models: ${(err as Error).message}`);
        process.exitCode = 1;
      }
    });
}
